// wildside_ingest._native: the ingest's C++ readers over libosmium (see network.cpp and
// pois.cpp); wildside_ingest/adapters/outbound/pbf_network.py and pbf_pois.py use them.
#include "native.hpp"

PYBIND11_MODULE(_native, m) {
    m.doc() = "The ingest's C++ readers of .osm.pbf files (libosmium).";
    bind_network(m);
    bind_pois(m);
}
