// The walking network read from a .osm.pbf in C++ (libosmium), for wildside_ingest.
//
// The same rules and the same rows as the Python reader (wildside_ingest.domain.network:
// is_walkable, split_way; adapters/outbound/pbf.py); the rule values (highway sets,
// foot/access values) come from Python, so they have one source. Two passes:
//
//   1. ways only: the node ids of walkable ways, way ends counted twice; the ids seen
//      twice or more are the vertices (junctions and way ends);
//   2. nodes and ways: every node location cached (libosmium's flex_mem index, as
//      pyosmium's "flex_mem"), each walkable way split at its vertices into edges
//      (length on the sphere, polyline as packed little-endian float64 pairs).
//
// `NetworkReader` is an iterator of batches: each `next` decodes with the GIL released
// until a batch is full, then builds its Python values (EdgeRecord objects and the end
// nodes' rows). A geofence that is not a plain rectangle (and the rare piece whose every
// vertex lies outside the rectangle but which may cross it) is asked of Python.

#include "native.hpp"

#include <osmium/handler/node_locations_for_ways.hpp>
#include <osmium/index/map/flex_mem.hpp>
#include <osmium/io/pbf_input.hpp>
#include <osmium/io/reader.hpp>
#include <osmium/memory/buffer.hpp>
#include <osmium/osm/way.hpp>
#include <osmium/visitor.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>


namespace {

constexpr double kEarthRadiusM = 6371008.8;
// CPython's math.radians multiplies by pi / 180 computed once: the same product here.
constexpr double kDegToRad = 3.14159265358979323846 / 180.0;

struct Rules {
    StringSet walkable;
    StringSet trunk;
    StringSet foot_allowed;
    StringSet foot_forbidden;
    StringSet access_forbidden;

    bool has(const StringSet& set, const char* value) const {
        return value != nullptr && set.count(value) > 0;
    }

    // wildside_ingest.domain.network.is_walkable, over the tags of one way.
    bool walkable_tags(const char* highway, const char* foot, const char* access,
                       const char* area) const {
        if (highway == nullptr) {
            return false;
        }
        if (has(foot_forbidden, foot)) {
            return false;
        }
        if (!has(walkable, highway)) {
            return has(trunk, highway) && has(foot_allowed, foot);
        }
        if (has(access_forbidden, access) && !has(foot_allowed, foot)) {
            return false;
        }
        return area == nullptr || std::strcmp(area, "yes") != 0 ||
               std::strcmp(highway, "pedestrian") == 0;
    }

    bool walkable_way(const osmium::Way& way) const {
        const auto& tags = way.tags();
        return walkable_tags(tags["highway"], tags["foot"], tags["access"], tags["area"]);
    }
};

// Python's round(x, 3): the correctly rounded decimal (ties to even, as CPython's dtoa),
// read back as a double.
double round3(double value) {
    if (!std::isfinite(value)) {
        return value;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.3f", value);
    return std::strtod(text, nullptr);
}

struct Edge {
    int64_t way_id;
    int64_t seq;
    int64_t source;
    int64_t target;
    double length_m;
    std::string highway;
    std::optional<std::string> name;
    std::string points;  // little-endian float64 lon, lat pairs
};

struct Batch {
    std::vector<Edge> edges;
    std::vector<int64_t> node_order;  // first appearance in this batch
    std::unordered_set<int64_t> node_seen;
    std::vector<std::pair<double, double>> node_coords;

    void add_node(int64_t id, double lon, double lat) {
        if (node_seen.insert(id).second) {
            node_order.push_back(id);
            node_coords.emplace_back(lon, lat);
        }
    }

    void clear() {
        edges.clear();
        node_order.clear();
        node_seen.clear();
        node_coords.clear();
    }
};

struct Coord {
    double lon;
    double lat;
};

void append_double(std::string& out, double value) {
    static_assert(sizeof(double) == 8, "float64");
    char bytes[8];
    std::memcpy(bytes, &value, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    std::reverse(bytes, bytes + 8);
#endif
    out.append(bytes, 8);
}

// CPython's float ** 2 calls the C library's pow at run time; so does this (a compiler
// would otherwise turn pow(x, 2.0) into x * x, which can differ in the last bit).
double (*volatile libm_pow)(double, double) = &std::pow;

double piece_length(const std::vector<Coord>& coords, size_t start, size_t end) {
    // network._edge: the haversine, summed segment by segment, in the same operations.
    double length = 0.0;
    double lon1 = coords[start].lon * kDegToRad;
    double lat1 = coords[start].lat * kDegToRad;
    for (size_t i = start + 1; i <= end; ++i) {
        const double lon2 = coords[i].lon * kDegToRad;
        const double lat2 = coords[i].lat * kDegToRad;
        const double h = libm_pow(std::sin((lat2 - lat1) / 2), 2.0) +
                         std::cos(lat1) * std::cos(lat2) * libm_pow(std::sin((lon2 - lon1) / 2), 2.0);
        length += 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
        lon1 = lon2;
        lat1 = lat2;
    }
    return length;
}

using Index = osmium::index::map::FlexMem<osmium::unsigned_object_id_type, osmium::Location>;
using LocationHandler = osmium::handler::NodeLocationsForWays<Index>;

class NetworkReader {
public:
    NetworkReader(std::string path, const py::iterable& walkable, const py::iterable& trunk,
                  const py::iterable& foot_allowed, const py::iterable& foot_forbidden,
                  const py::iterable& access_forbidden, std::optional<std::vector<double>> rect,
                  std::vector<double> bounds, py::object touches, size_t batch_size)
        : path_(std::move(path)),
          rect_(std::move(rect)),
          bounds_(std::move(bounds)),
          touches_(std::move(touches)),
          batch_size_(std::max<size_t>(1, batch_size)) {
        rules_.walkable = to_set(walkable);
        rules_.trunk = to_set(trunk);
        rules_.foot_allowed = to_set(foot_allowed);
        rules_.foot_forbidden = to_set(foot_forbidden);
        rules_.access_forbidden = to_set(access_forbidden);
        if (rect_ && rect_->size() != 4) {
            throw py::value_error("rect: min_lon, min_lat, max_lon, max_lat");
        }
        if (bounds_.size() != 4) {
            throw py::value_error("bounds: min_lon, min_lat, max_lon, max_lat");
        }
    }

    int64_t ways_read() const { return ways_read_; }
    size_t vertex_count() const { return vertices_.size(); }

    NetworkReader& iter() { return *this; }

    // The next batch as (edges, nodes): EdgeRecord objects built by `edge_type`, and
    // {node id: (id, lon, lat)} of their end nodes; StopIteration at the end.
    py::tuple next(const py::object& edge_type) {
        if (done_) {
            throw py::stop_iteration();
        }
        {
            py::gil_scoped_release release;
            fill();
        }
        if (batch_.edges.empty() && done_) {
            throw py::stop_iteration();
        }
        py::list edges(batch_.edges.size());
        size_t i = 0;
        for (const auto& edge : batch_.edges) {
            py::object name = edge.name ? py::object(py::str(*edge.name)) : py::object(py::none());
            edges[i++] = edge_type(edge.way_id, edge.seq, edge.source, edge.target, edge.length_m,
                                   py::str(edge.highway), name, py::bytes(edge.points));
        }
        py::dict nodes;
        for (size_t n = 0; n < batch_.node_order.size(); ++n) {
            const int64_t id = batch_.node_order[n];
            const auto& c = batch_.node_coords[n];
            nodes[py::int_(id)] = py::make_tuple(id, c.first, c.second);
        }
        batch_.clear();
        return py::make_tuple(edges, nodes);
    }

private:
    // Pass 1: the vertices (ids used twice or more by walkable ways; way ends twice).
    void scan_vertices() {
        std::vector<int64_t> refs;
        osmium::io::Reader reader{osmium::io::File{path_, "pbf"}, osmium::osm_entity_bits::way};
        while (osmium::memory::Buffer buffer = reader.read()) {
            for (const auto& way : buffer.select<osmium::Way>()) {
                if (way.tags()["highway"] == nullptr || !rules_.walkable_way(way)) {
                    continue;
                }
                const auto& nodes = way.nodes();
                if (nodes.size() < 2) {
                    continue;
                }
                for (const auto& node : nodes) {
                    refs.push_back(node.ref());
                }
                refs.push_back(nodes.front().ref());
                refs.push_back(nodes.back().ref());
            }
        }
        reader.close();
        std::sort(refs.begin(), refs.end());
        for (size_t i = 1; i < refs.size(); ++i) {
            if (refs[i] == refs[i - 1] && (vertices_.empty() || vertices_.back() != refs[i])) {
                vertices_.push_back(refs[i]);
            }
        }
        vertices_.shrink_to_fit();
    }

    bool is_vertex(int64_t id) const {
        return std::binary_search(vertices_.begin(), vertices_.end(), id);
    }

    // Decode until the batch is full or the file ends (GIL released).
    void fill() {
        if (!reader_) {
            scan_vertices();
            index_ = std::make_unique<Index>();
            locations_ = std::make_unique<LocationHandler>(*index_);
            locations_->ignore_errors();
            reader_ = std::make_unique<osmium::io::Reader>(
                osmium::io::File{path_, "pbf"},
                osmium::osm_entity_bits::node | osmium::osm_entity_bits::way);
        }
        while (batch_.edges.size() < batch_size_) {
            if (position_ == nullptr) {
                buffer_ = reader_->read();
                if (!buffer_) {
                    reader_->close();
                    done_ = true;
                    return;
                }
                osmium::apply(buffer_, *locations_);
                position_ = std::make_unique<osmium::memory::Buffer::t_iterator<osmium::OSMEntity>>(
                    buffer_.begin<osmium::OSMEntity>());
            }
            auto end = buffer_.end<osmium::OSMEntity>();
            while (*position_ != end && batch_.edges.size() < batch_size_) {
                const osmium::OSMEntity& entity = **position_;
                ++*position_;
                if (entity.type() == osmium::item_type::way) {
                    way(static_cast<const osmium::Way&>(entity));
                }
            }
            if (*position_ == end) {
                position_.reset();
            }
        }
    }

    void way(const osmium::Way& way) {
        const auto& tags = way.tags();
        const char* highway = tags["highway"];
        if (highway == nullptr) {
            return;
        }
        ++ways_read_;
        if (!rules_.walkable_tags(highway, tags["foot"], tags["access"], tags["area"])) {
            return;
        }
        const auto& nodes = way.nodes();
        const size_t count = nodes.size();
        if (count < 2) {
            return;
        }
        coords_.clear();
        valid_.clear();
        for (const auto& node : nodes) {
            const osmium::Location location = node.location();
            valid_.push_back(location.valid());
            coords_.push_back(location.valid() ? Coord{location.lon(), location.lat()}
                                               : Coord{0.0, 0.0});
        }
        const char* name = tags["name"];
        size_t start = 0;
        int64_t seq = 0;
        const size_t last = count - 1;
        for (size_t i = 1; i < count; ++i) {
            if (!(i == last || is_vertex(nodes[i].ref()))) {
                continue;
            }
            bool complete = true;
            for (size_t k = start; k <= i; ++k) {
                if (!valid_[k]) {
                    complete = false;
                    break;
                }
            }
            if (complete && keep(start, i)) {
                emit(way.id(), seq, nodes[start].ref(), nodes[i].ref(), start, i, highway, name);
            }
            start = i;
            ++seq;
        }
    }

    void emit(int64_t way_id, int64_t seq, int64_t source, int64_t target, size_t start,
              size_t end, const char* highway, const char* name) {
        const double length = piece_length(coords_, start, end);
        if (source == target && length == 0) {
            return;  // a node repeated in place: no edge to walk
        }
        Edge edge;
        edge.way_id = way_id;
        edge.seq = seq;
        edge.source = source;
        edge.target = target;
        edge.length_m = round3(length);
        edge.highway = highway;
        if (name != nullptr && name[0] != '\0') {
            edge.name = std::string(name);
        }
        edge.points.reserve((end - start + 1) * 16);
        for (size_t k = start; k <= end; ++k) {
            append_double(edge.points, coords_[k].lon);
            append_double(edge.points, coords_[k].lat);
        }
        batch_.add_node(source, coords_[start].lon, coords_[start].lat);
        batch_.add_node(target, coords_[end].lon, coords_[end].lat);
        batch_.edges.push_back(std::move(edge));
    }

    // Geofence.touches_line: any vertex inside the rectangle; else the rare crossing
    // case (or any piece of a polygon geofence within its bounds) is asked of Python.
    bool keep(size_t start, size_t end) {
        if (rect_) {
            const auto& r = *rect_;
            for (size_t k = start; k <= end; ++k) {
                const Coord& c = coords_[k];
                if (r[0] <= c.lon && c.lon <= r[2] && r[1] <= c.lat && c.lat <= r[3]) {
                    return true;
                }
            }
        }
        double min_x = coords_[start].lon, max_x = min_x;
        double min_y = coords_[start].lat, max_y = min_y;
        for (size_t k = start + 1; k <= end; ++k) {
            min_x = std::min(min_x, coords_[k].lon);
            max_x = std::max(max_x, coords_[k].lon);
            min_y = std::min(min_y, coords_[k].lat);
            max_y = std::max(max_y, coords_[k].lat);
        }
        if (max_x < bounds_[0] || min_x > bounds_[2] || max_y < bounds_[1] || min_y > bounds_[3]) {
            return false;
        }
        py::gil_scoped_acquire acquire;
        py::list line(end - start + 1);
        for (size_t k = start; k <= end; ++k) {
            line[k - start] = py::make_tuple(coords_[k].lon, coords_[k].lat);
        }
        return touches_(line).cast<bool>();
    }

    std::string path_;
    Rules rules_;
    std::optional<std::vector<double>> rect_;
    std::vector<double> bounds_;
    py::object touches_;
    size_t batch_size_;

    std::vector<int64_t> vertices_;
    std::unique_ptr<Index> index_;
    std::unique_ptr<LocationHandler> locations_;
    std::unique_ptr<osmium::io::Reader> reader_;
    osmium::memory::Buffer buffer_;
    std::unique_ptr<osmium::memory::Buffer::t_iterator<osmium::OSMEntity>> position_;
    Batch batch_;
    std::vector<Coord> coords_;
    std::vector<bool> valid_;
    int64_t ways_read_ = 0;
    bool done_ = false;
};

}  // namespace

void bind_network(py::module_& m) {
    m.def("round3", &round3, "Python's round(x, 3), as the reader rounds edge lengths.");
    m.def(
        "is_walkable",
        [](const py::dict& tags, const py::iterable& walkable, const py::iterable& trunk,
           const py::iterable& foot_allowed, const py::iterable& foot_forbidden,
           const py::iterable& access_forbidden) {
            Rules rules{to_set(walkable), to_set(trunk), to_set(foot_allowed),
                        to_set(foot_forbidden), to_set(access_forbidden)};
            std::string values[4];
            const char* pointers[4] = {nullptr, nullptr, nullptr, nullptr};
            const char* keys[4] = {"highway", "foot", "access", "area"};
            for (int i = 0; i < 4; ++i) {
                if (tags.contains(keys[i])) {
                    values[i] = tags[keys[i]].cast<std::string>();
                    pointers[i] = values[i].c_str();
                }
            }
            return rules.walkable_tags(pointers[0], pointers[1], pointers[2], pointers[3]);
        },
        "The reader's walkability rule over a dict of tags (for tests).");
    py::class_<NetworkReader>(m, "NetworkReader")
        .def(py::init<std::string, const py::iterable&, const py::iterable&, const py::iterable&,
                      const py::iterable&, const py::iterable&, std::optional<std::vector<double>>,
                      std::vector<double>, py::object, size_t>(),
             py::arg("path"), py::arg("walkable"), py::arg("trunk"), py::arg("foot_allowed"),
             py::arg("foot_forbidden"), py::arg("access_forbidden"), py::arg("rect"),
             py::arg("bounds"), py::arg("touches"), py::arg("batch_size"))
        .def("next_batch", &NetworkReader::next, py::arg("edge_type"))
        .def_property_readonly("ways_read", &NetworkReader::ways_read)
        .def_property_readonly("vertex_count", &NetworkReader::vertex_count);
}
