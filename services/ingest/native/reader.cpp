// The .osm.pbf reader of wildside_ingest, in C++ (libosmium): the walking network and
// the POI candidates in one decode of the file.
//
// The same rules and the same rows as the Python reader (wildside_ingest.domain.network:
// is_walkable, split_way; adapters/outbound/pbf.py); the rule values (highway sets,
// foot/access values, the themes' tag rules) come from Python, so they have one source.
// Python's POI decisions (themes, the geofence, point-on-surface, the row) are the spec:
// this reader hands it the elements that may pass the POI filters, with all their tags
// and coordinates, and skips the rest here; except on a first load within a rectangle
// (`load_poi_rows`), where it makes Python's decision for tagged nodes itself and writes
// their `pois` rows (PoiRowRules; test_native_reader compares the two). Two passes:
//
//   1. ways and relations, in a thread of its own while the second pass decodes the
//      nodes: the node ids of walkable ways, way ends counted twice (the ids seen
//      twice or more are the vertices: junctions and way ends), and the multipolygon
//      relations that may be POIs, with their member ways;
//   2. nodes and ways: every node location cached (libosmium's index chosen by name,
//      "flex_mem" by default, as pyosmium's create_map); each walkable way split at
//      its vertices into edges (length on the sphere, polyline as packed little-endian
//      float64 pairs); the POI candidates; the member ways' coordinates.
//
// `OsmReader.next_batch` decodes with the GIL released until a batch is full, then
// builds its Python values. A geofence that is not a plain rectangle (and the rare piece
// whose every vertex lies outside the rectangle but which may cross it) is asked of
// Python.
//
// The POI pre-filter is a superset of `FilterSet.poi_themes(tags) is not None`: one of
// the selected themes' rules may match (its key carries a value other than "no" that is
// in the rule's values, any value when the rule has none, or a `a;b` list, which Python
// splits and tests), or, with `wiki`, a name and a non-empty reference key. Counts, as
// the Python reader counts them: nodes carrying a POI key with a valid location; ways
// carrying `highway` (network) or a POI key.

#include "native.hpp"

#include <osmium/handler/node_locations_for_ways.hpp>
#include <osmium/index/map/all.hpp>
#include <osmium/index/node_locations_map.hpp>
#include <osmium/io/pbf_input.hpp>
#include <osmium/io/reader.hpp>
#include <osmium/memory/buffer.hpp>
#include <osmium/osm/node.hpp>
#include <osmium/osm/relation.hpp>
#include <osmium/osm/way.hpp>
#include <osmium/visitor.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <string_view>
#include <unordered_map>
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

// The node location store, chosen by name as pyosmium's create_map does ("flex_mem",
// "sparse_mem_array", "dense_mmap_array", ...: INGEST_LOCATION_STORE).
using Index = osmium::index::map::Map<osmium::unsigned_object_id_type, osmium::Location>;
using LocationHandler = osmium::handler::NodeLocationsForWays<Index>;


struct Rule {
    std::string key;
    std::optional<StringSet> values;
};

struct Tag {
    std::string key;
    std::string value;
};

// An element that may pass the POI filters: all its tags and its coordinates.
struct Candidate {
    int64_t id;
    std::vector<Tag> tags;
    std::vector<std::pair<double, double>> coords;  // a node: one point
    bool complete;                                  // every node location is known
};

struct Relation {
    int64_t id;
    std::vector<Tag> tags;
    std::vector<std::pair<int64_t, std::string>> members;  // (way id, role)
};

// What the POI side keeps: the selected themes' rules (a superset test of Python's
// `FilterSet.poi_themes(tags) is not None`), the keys every candidate carries one of,
// and the wiki rule (a name and a non-empty reference key). The rules are indexed by
// key (`index`, built by `load_pois`): an element's tags are walked once, each key
// looked up, instead of every rule's key searched in the tags (that search, a strcmp
// per rule and tag, was a third of the reader's CPU).
struct PoiRules {
    std::vector<Rule> rules;
    std::vector<std::string> keys;
    bool wiki = false;
    std::vector<std::string> reference_keys;
    // key -> the rules on it (indexes into `rules`); the keys' views point into `keys`
    std::unordered_map<std::string_view, std::vector<size_t>> by_key;
    std::unordered_set<std::string_view> key_set;
    std::unordered_set<std::string_view> reference_set;

    void index() {
        by_key.clear();
        key_set.clear();
        reference_set.clear();
        for (const auto& key : keys) {
            key_set.insert(key);
        }
        for (const auto& key : reference_keys) {
            reference_set.insert(key);
        }
        for (size_t i = 0; i < rules.size(); ++i) {
            by_key[std::string_view(rules[i].key)].push_back(i);
        }
    }

    bool has_key(const osmium::TagList& tags) const {
        for (const auto& tag : tags) {
            if (key_set.count(std::string_view(tag.key())) > 0) {
                return true;
            }
        }
        return false;
    }

    // Any occurrence of a key may match (a superset: Python decides duplicates).
    bool candidate(const osmium::TagList& tags) const {
        bool named = false;
        bool referenced = false;
        for (const auto& tag : tags) {
            const std::string_view key(tag.key());
            const char* value = tag.value();
            const auto found = by_key.find(key);
            if (found != by_key.end() && std::strcmp(value, "no") != 0) {
                for (const size_t i : found->second) {
                    const Rule& rule = rules[i];
                    // `a;b` lists are split and stripped by Python: they pass here
                    if (!rule.values || rule.values->count(value) > 0 ||
                        std::strchr(value, ';')) {
                        return true;
                    }
                }
            }
            if (wiki && value[0] != '\0') {
                if (key == "name") {
                    named = true;
                } else if (reference_set.count(key) > 0) {
                    referenced = true;
                }
            }
        }
        return named && referenced;
    }
};

// ---------------------------------------------------------------------------------
// POI rows decided in C++ (a first load into an empty `pois`, a rectangular geofence).
//
// For a tagged node, the same decision and row as Python's (the spec):
// `FilterSet.poi_themes`, `Geofence.covers_point` on a rectangle, `make_poi` (OSM's 7
// decimals, the canonical tags JSON, the popularity prior, the SHA-256 content hash),
// written as a binary COPY row of `pois` (sql.POI_TABLE_COLUMNS). Every rule value comes
// from Python (the theme rules, the popularity weights). What this code does not repeat
// exactly is handed to Python as before: tags with a repeated key (a dict keeps the
// last), text that is not valid UTF-8 (Python refuses it), and a rule key whose value
// holds a `;` (Python splits and strips it, with its own idea of white space). Ways and
// multipolygons (their point on surface is shapely's) are always decided in Python.

// SHA-256 (FIPS 180-4), for `content_hash`.
class Sha256 {
public:
    Sha256() { reset(); }

    void reset() {
        static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        std::memcpy(h_, init, sizeof h_);
        length_ = 0;
        used_ = 0;
    }

    void update(const char* data, size_t size) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(data);
        length_ += size;
        while (size > 0) {
            const size_t take = std::min(size, size_t{64} - used_);
            std::memcpy(block_ + used_, bytes, take);
            used_ += take;
            bytes += take;
            size -= take;
            if (used_ == 64) {
                compress(block_);
                used_ = 0;
            }
        }
    }

    void update(std::string_view text) { update(text.data(), text.size()); }

    // The digest as 64 lowercase hex digits (as hashlib's hexdigest()).
    void hex(char out[64]) {
        const uint64_t bits = length_ * 8;
        const unsigned char pad = 0x80;
        update(reinterpret_cast<const char*>(&pad), 1);
        const unsigned char zero = 0;
        while (used_ != 56) {
            update(reinterpret_cast<const char*>(&zero), 1);
        }
        unsigned char size[8];
        for (int i = 0; i < 8; ++i) {
            size[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
        }
        update(reinterpret_cast<const char*>(size), 8);
        static const char digits[] = "0123456789abcdef";
        for (int i = 0; i < 8; ++i) {
            for (int b = 0; b < 4; ++b) {
                const unsigned byte = (h_[i] >> (24 - 8 * b)) & 0xff;
                out[i * 8 + b * 2] = digits[byte >> 4];
                out[i * 8 + b * 2 + 1] = digits[byte & 0xf];
            }
        }
    }

private:
    static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

    void compress(const unsigned char* p) {
        static const uint32_t k[64] = {
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2};
        uint32_t w[64];
        for (int i = 0; i < 16; ++i) {
            w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
                   (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
        }
        for (int i = 16; i < 64; ++i) {
            const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6],
                 h = h_[7];
        for (int i = 0; i < 64; ++i) {
            const uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            const uint32_t ch = (e & f) ^ (~e & g);
            const uint32_t t1 = h + s1 + ch + k[i] + w[i];
            const uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
            const uint32_t t2 = s0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h_[0] += a;
        h_[1] += b;
        h_[2] += c;
        h_[3] += d;
        h_[4] += e;
        h_[5] += f;
        h_[6] += g;
        h_[7] += h;
    }

    uint32_t h_[8];
    unsigned char block_[64];
    uint64_t length_;
    size_t used_;
};

// Strict UTF-8 (as Python's decoder: no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t extra;
        uint32_t code;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            code = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            code = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            code = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= n) {
            return false;  // cut short
        }
        for (size_t k = 1; k <= extra; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return false;
            }
            code = (code << 6) | (s[i + k] & 0x3f);
        }
        if ((extra == 2 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
            (extra == 3 && (code < 0x10000 || code > 0x10ffff))) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

// json's encoder with ensure_ascii=False: `"` `\` and the control characters escaped,
// everything else (UTF-8) as it is.
void json_string(std::string& out, std::string_view text) {
    static const char digits[] = "0123456789abcdef";
    out.push_back('"');
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out.push_back(digits[c >> 4]);
                    out.push_back(digits[c & 0xf]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

// Python's round(x, digits) (correctly rounded, ties to even), read back as a double.
double round_to(double value, int digits) {
    if (!std::isfinite(value)) {
        return value;
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return std::strtod(text, nullptr);
}

struct ThemeRule {
    std::string theme;
    std::optional<StringSet> values;
};

struct Weight {
    std::string key;
    std::optional<StringSet> values;
    double weight;
};

using TagView = std::pair<std::string_view, std::string_view>;

enum class Decision { not_poi, row, ask_python };

// What a node's POI row needs beyond PoiRules: every theme rule (the themes stored are
// all the rules give), the selected themes, the rectangle, the popularity weights.
struct PoiRowRules {
    bool enabled = false;
    std::deque<std::string> keys;  // own the views of `by_key`
    std::unordered_map<std::string_view, std::vector<ThemeRule>> by_key;
    StringSet selected;
    double rect[4] = {0, 0, 0, 0};
    std::vector<Weight> weights;
    std::string source;
};

std::vector<Tag> tags_of(const osmium::OSMObject& object) {
    std::vector<Tag> tags;
    for (const auto& tag : object.tags()) {
        tags.push_back(Tag{tag.key(), tag.value()});
    }
    return tags;
}

py::dict to_dict(const std::vector<Tag>& tags) {
    py::dict result;
    for (const auto& tag : tags) {
        result[py::str(tag.key)] = py::str(tag.value);
    }
    return result;
}

py::list to_line(const std::vector<std::pair<double, double>>& coords) {
    py::list result(coords.size());
    for (size_t i = 0; i < coords.size(); ++i) {
        result[i] = py::make_tuple(coords[i].first, coords[i].second);
    }
    return result;
}

bool coords_of(const osmium::WayNodeList& nodes, std::vector<std::pair<double, double>>& coords) {
    coords.clear();
    coords.reserve(nodes.size());
    for (const auto& node : nodes) {
        const osmium::Location location = node.location();
        if (!location.valid()) {
            return false;
        }
        coords.emplace_back(location.lon(), location.lat());
    }
    return true;
}

// PostgreSQL's binary COPY rows (no header or trailer): big-endian integers and floats,
// each field behind its length; geography as WKB (little-endian), as geography_recv reads.
void put_be(std::string& out, uint64_t value, int bytes) {
    for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

void put_field(std::string& out, const char* data, size_t size) {
    put_be(out, size, 4);
    out.append(data, size);
}

void put_int64(std::string& out, int64_t value) {
    put_be(out, 8, 4);
    put_be(out, static_cast<uint64_t>(value), 8);
}

void put_float64(std::string& out, double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    put_be(out, 8, 4);
    put_be(out, bits, 8);
}

void put_le32(std::string& out, uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) {
        out.push_back(static_cast<char>((value >> shift) & 0xff));
    }
}

// street_edges (way_id, seq, source, target, length_m, highway, name, geom).
void pack_edge(std::string& out, const Edge& edge) {
    put_be(out, 8, 2);
    put_int64(out, edge.way_id);
    put_be(out, 4, 4);
    put_be(out, static_cast<uint32_t>(edge.seq), 4);
    put_int64(out, edge.source);
    put_int64(out, edge.target);
    put_float64(out, edge.length_m);
    put_field(out, edge.highway.data(), edge.highway.size());
    if (edge.name) {
        put_field(out, edge.name->data(), edge.name->size());
    } else {
        put_be(out, 0xffffffffu, 4);  // NULL
    }
    put_be(out, 9 + edge.points.size(), 4);
    out.push_back('\x01');  // WKB, little-endian LineString
    put_le32(out, 2);
    put_le32(out, static_cast<uint32_t>(edge.points.size() / 16));
    out.append(edge.points);
}

// street_nodes (id, location).
void pack_node(std::string& out, int64_t id, double lon, double lat) {
    put_be(out, 2, 2);
    put_int64(out, id);
    put_be(out, 21, 4);
    out.push_back('\x01');  // WKB, little-endian Point
    put_le32(out, 1);
    append_double(out, lon);
    append_double(out, lat);
}

class OsmReader {
public:
    OsmReader(std::string path, size_t batch_size, const std::string& location_store)
        : path_(std::move(path)), batch_size_(std::max<size_t>(1, batch_size)) {
        const auto& factory =
            osmium::index::MapFactory<osmium::unsigned_object_id_type, osmium::Location>::instance();
        if (!factory.has_map_type(location_store)) {
            throw py::value_error("unknown location store: " + location_store);
        }
        index_ = factory.create_map(location_store);
    }

    void load_network(const py::iterable& walkable, const py::iterable& trunk,
                      const py::iterable& foot_allowed, const py::iterable& foot_forbidden,
                      const py::iterable& access_forbidden,
                      std::optional<std::vector<double>> rect, std::vector<double> bounds,
                      py::object touches) {
        if (rect && rect->size() != 4) {
            throw py::value_error("rect: min_lon, min_lat, max_lon, max_lat");
        }
        if (bounds.size() != 4) {
            throw py::value_error("bounds: min_lon, min_lat, max_lon, max_lat");
        }
        network_ = true;
        walk_ = Rules{to_set(walkable), to_set(trunk), to_set(foot_allowed),
                      to_set(foot_forbidden), to_set(access_forbidden)};
        rect_ = std::move(rect);
        bounds_ = std::move(bounds);
        touches_ = std::move(touches);
    }

    void load_pois(const py::iterable& rules, const py::iterable& keys, bool wiki,
                   const py::iterable& reference_keys) {
        pois_ = true;
        for (auto item : rules) {
            auto pair = item.cast<py::tuple>();
            Rule rule;
            rule.key = pair[0].cast<std::string>();
            if (!pair[1].is_none()) {
                rule.values = to_set(pair[1].cast<py::iterable>());
            }
            poi_.rules.push_back(std::move(rule));
        }
        for (auto key : keys) {
            poi_.keys.push_back(key.cast<std::string>());
        }
        poi_.wiki = wiki;
        for (auto key : reference_keys) {
            poi_.reference_keys.push_back(key.cast<std::string>());
        }
        poi_.index();
    }

    // Decide tagged nodes here and write their `pois` rows (binary COPY, see
    // PoiRowRules): every theme rule (theme, key, values or None), the selected themes,
    // the geofence's rectangle (min_lon, min_lat, max_lon, max_lat), the popularity
    // weights (key, values or None, weight) in their order, the rows' source. After
    // `load_pois`; `next_batch` then gives the rows (and their count) as its last two
    // items, and hands Python only the nodes this code does not decide.
    void load_poi_rows(const py::iterable& rules, const py::iterable& selected,
                       std::vector<double> rect, const py::iterable& weights,
                       const std::string& source) {
        if (!pois_) {
            throw py::value_error("load_poi_rows: load_pois first");
        }
        if (rect.size() != 4) {
            throw py::value_error("rect: min_lon, min_lat, max_lon, max_lat");
        }
        rows_ = PoiRowRules{};
        for (auto item : rules) {
            auto triple = item.cast<py::tuple>();
            ThemeRule rule;
            rule.theme = triple[0].cast<std::string>();
            const auto key = triple[1].cast<std::string>();
            if (!triple[2].is_none()) {
                rule.values = to_set(triple[2].cast<py::iterable>());
            }
            auto found = rows_.by_key.find(key);
            if (found == rows_.by_key.end()) {
                rows_.keys.push_back(key);
                found = rows_.by_key.emplace(std::string_view(rows_.keys.back()),
                                             std::vector<ThemeRule>{}).first;
            }
            found->second.push_back(std::move(rule));
        }
        rows_.selected = to_set(selected);
        std::copy(rect.begin(), rect.end(), rows_.rect);
        for (auto item : weights) {
            auto triple = item.cast<py::tuple>();
            Weight weight;
            weight.key = triple[0].cast<std::string>();
            if (!triple[1].is_none()) {
                weight.values = to_set(triple[1].cast<py::iterable>());
            }
            weight.weight = triple[2].cast<double>();
            rows_.weights.push_back(std::move(weight));
        }
        rows_.source = source;
        rows_.enabled = true;
    }

    // Hand the network over as street_edges / street_nodes binary COPY rows (each node
    // once per run) instead of EdgeRecord objects: `next_batch` then gives
    // wire_type(edge rows, edge count, node rows, node count) in place of the edges,
    // and None for the nodes.
    void set_wire(bool wire) { wire_ = wire; }

    int64_t nodes_read() const { return nodes_read_; }
    int64_t ways_read() const { return ways_read_; }
    size_t vertex_count() const { return vertices_.size(); }

    ~OsmReader() {
        stop_ = true;
        if (scan_thread_.joinable()) {
            scan_thread_.join();
        }
    }

    // Starts the first pass (ways and relations: the network's vertices, the candidate
    // multipolygons and their member ways) in a thread of its own: the second pass
    // decodes the nodes meanwhile and waits for it at its first way.
    void scan() {
        if (scanned_) {
            throw py::value_error("scan: already started");
        }
        scanned_ = true;
        scan_thread_ = std::thread([this] {
            try {
                relations_ = scan_file();
            } catch (...) {
                scan_error_ = std::current_exception();
            }
        });
    }

    // The candidate multipolygons as [(id, tags, ((way id, role), ...))] (once the first
    // pass is through).
    py::list relations() {
        {
            py::gil_scoped_release release;
            join_scan();
        }
        py::list result(relations_.size());
        for (size_t i = 0; i < relations_.size(); ++i) {
            const auto& r = relations_[i];
            py::list members(r.members.size());
            for (size_t m = 0; m < r.members.size(); ++m) {
                members[m] = py::make_tuple(r.members[m].first, py::str(r.members[m].second));
            }
            result[i] = py::make_tuple(r.id, to_dict(r.tags), py::tuple(members));
        }
        return result;
    }

    // The next batch of the second pass: (edges, nodes, poi nodes, poi ways): EdgeRecord
    // objects built by `edge_type` and {node id: (id, lon, lat)} of their end nodes;
    // [(id, tags, lon, lat)] and [(id, tags, coords or None when a location is missing)].
    // StopIteration at the end.
    py::tuple next(const py::object& edge_type, const py::object& wire_type) {
        if (!scanned_) {
            throw py::value_error("next_batch: start the scan first");
        }
        if (done_) {
            throw py::stop_iteration();
        }
        {
            py::gil_scoped_release release;
            fill();
        }
        if (done_ && batch_.edges.empty() && poi_nodes_.empty() && poi_ways_.empty() &&
            poi_row_count_ == 0) {
            throw py::stop_iteration();
        }
        py::object edges;
        py::object nodes;
        if (wire_) {
            edges = py::none();
            nodes = py::none();
            if (!batch_.edges.empty()) {
                std::string edge_rows, node_rows;
                size_t node_count = 0;
                {
                    py::gil_scoped_release release;
                    for (const auto& edge : batch_.edges) {
                        pack_edge(edge_rows, edge);
                    }
                    // each node once per run: `emit` kept only those not sent yet
                    for (size_t n = 0; n < batch_.node_order.size(); ++n) {
                        pack_node(node_rows, batch_.node_order[n], batch_.node_coords[n].first,
                                  batch_.node_coords[n].second);
                        ++node_count;
                    }
                }
                edges = wire_type(py::bytes(edge_rows), batch_.edges.size(), py::bytes(node_rows),
                                  node_count);
            }
        } else {
            py::list edge_list(batch_.edges.size());
            size_t i = 0;
            for (const auto& edge : batch_.edges) {
                py::object name =
                    edge.name ? py::object(py::str(*edge.name)) : py::object(py::none());
                edge_list[i++] = edge_type(edge.way_id, edge.seq, edge.source, edge.target,
                                           edge.length_m, py::str(edge.highway), name,
                                           py::bytes(edge.points));
            }
            py::dict node_dict;
            for (size_t n = 0; n < batch_.node_order.size(); ++n) {
                const int64_t id = batch_.node_order[n];
                const auto& c = batch_.node_coords[n];
                node_dict[py::int_(id)] = py::make_tuple(id, c.first, c.second);
            }
            edges = edge_list;
            nodes = node_dict;
        }
        py::list poi_nodes(poi_nodes_.size());
        for (size_t k = 0; k < poi_nodes_.size(); ++k) {
            const auto& c = poi_nodes_[k];
            poi_nodes[k] = py::make_tuple(c.id, to_dict(c.tags), c.coords[0].first,
                                          c.coords[0].second);
        }
        py::list poi_ways(poi_ways_.size());
        for (size_t k = 0; k < poi_ways_.size(); ++k) {
            const auto& c = poi_ways_[k];
            py::object coords = c.complete ? py::object(to_line(c.coords)) : py::object(py::none());
            poi_ways[k] = py::make_tuple(c.id, to_dict(c.tags), coords);
        }
        py::object poi_rows = py::none();
        const size_t poi_row_count = poi_row_count_;
        if (poi_row_count_ > 0) {
            poi_rows = py::bytes(poi_rows_);
        }
        batch_.clear();
        poi_nodes_.clear();
        poi_ways_.clear();
        poi_rows_.clear();
        poi_row_count_ = 0;
        return py::make_tuple(edges, nodes, poi_nodes, poi_ways, poi_rows, poi_row_count);
    }

    // {way id: [(lon, lat), ...]} of the candidate multipolygons' member ways whose every
    // node location is known (after the last batch).
    py::dict member_coords() const {
        py::dict result;
        for (const auto& [id, coords] : member_coords_) {
            result[py::int_(id)] = to_line(coords);
        }
        return result;
    }

private:
    // Waits for the first pass; its error, if any, is raised here (once).
    void join_scan() {
        if (scan_thread_.joinable()) {
            scan_thread_.join();
        }
        if (scan_error_) {
            std::exception_ptr error = scan_error_;
            scan_error_ = nullptr;
            std::rethrow_exception(error);
        }
    }

    std::vector<Relation> scan_file() {
        std::vector<int64_t> refs;
        std::vector<Relation> relations;
        osmium::osm_entity_bits::type bits = osmium::osm_entity_bits::nothing;
        if (network_) {
            bits |= osmium::osm_entity_bits::way;
        }
        if (pois_) {
            bits |= osmium::osm_entity_bits::relation;
        }
        if (bits != osmium::osm_entity_bits::nothing) {
            osmium::io::Reader reader{osmium::io::File{path_, "pbf"}, bits};
            while (osmium::memory::Buffer buffer = reader.read()) {
                if (stop_) {
                    break;  // the reader is being destroyed
                }
                for (const auto& entity : buffer.select<osmium::OSMObject>()) {
                    if (entity.type() == osmium::item_type::way) {
                        scan_way(static_cast<const osmium::Way&>(entity), refs);
                    } else if (entity.type() == osmium::item_type::relation) {
                        scan_relation(static_cast<const osmium::Relation&>(entity), relations);
                    }
                }
            }
            reader.close();
        }
        std::sort(refs.begin(), refs.end());
        for (size_t i = 1; i < refs.size(); ++i) {
            if (refs[i] == refs[i - 1] && (vertices_.empty() || vertices_.back() != refs[i])) {
                vertices_.push_back(refs[i]);
            }
        }
        vertices_.shrink_to_fit();
        for (const auto& relation : relations) {
            for (const auto& member : relation.members) {
                members_.push_back(member.first);
            }
        }
        std::sort(members_.begin(), members_.end());
        members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
        return relations;
    }

    // Vertices: the node ids of walkable ways, way ends twice; used twice or more.
    void scan_way(const osmium::Way& way, std::vector<int64_t>& refs) const {
        if (way.tags()["highway"] == nullptr || !walk_.walkable_way(way)) {
            return;
        }
        const auto& nodes = way.nodes();
        if (nodes.size() < 2) {
            return;
        }
        for (const auto& node : nodes) {
            refs.push_back(node.ref());
        }
        refs.push_back(nodes.front().ref());
        refs.push_back(nodes.back().ref());
    }

    // pbf_scan._multipolygons: a POI key, type=multipolygon, and (here) the pre-filter.
    void scan_relation(const osmium::Relation& relation, std::vector<Relation>& out) const {
        const auto& tags = relation.tags();
        const char* type = tags["type"];
        if (tags.empty() || !poi_.has_key(tags) || type == nullptr ||
            std::strcmp(type, "multipolygon") != 0 || !poi_.candidate(tags)) {
            return;
        }
        Relation r{relation.id(), tags_of(relation), {}};
        for (const auto& member : relation.members()) {
            if (member.type() == osmium::item_type::way) {
                r.members.emplace_back(member.ref(), member.role());
            }
        }
        out.push_back(std::move(r));
    }

    bool is_vertex(int64_t id) const {
        return std::binary_search(vertices_.begin(), vertices_.end(), id);
    }

    size_t pending() const {
        return batch_.edges.size() + poi_nodes_.size() + poi_ways_.size() + poi_row_count_;
    }

    std::string_view tag_value(std::string_view key) const {
        for (const auto& [k, v] : tag_views_) {
            if (k == key) {
                return v;
            }
        }
        return {};
    }

    bool has_tag(std::string_view key) const {
        for (const auto& tag : tag_views_) {
            if (tag.first == key) {
                return true;
            }
        }
        return false;
    }

    // FilterSet.poi_themes, FeatureBuilder.node_poi and make_poi over one node (see
    // PoiRowRules): its row is appended to `poi_rows_`, or it is no POI, or Python
    // decides.
    Decision decide_node(const osmium::Node& node) {
        auto& tags = tag_views_;
        tags.clear();
        for (const auto& tag : node.tags()) {
            tags.emplace_back(tag.key(), tag.value());
        }
        // sorted by key as canonical_tags sorts (UTF-8 byte order is code point order)
        std::sort(tags.begin(), tags.end(),
                  [](const TagView& a, const TagView& b) { return a.first < b.first; });
        for (size_t i = 0; i < tags.size(); ++i) {
            if ((i > 0 && tags[i].first == tags[i - 1].first) || !valid_utf8(tags[i].first) ||
                !valid_utf8(tags[i].second)) {
                return Decision::ask_python;  // a repeated key, or text Python refuses
            }
        }
        // ThemeRules.themes_for: every rule, a value other than "no" that it takes
        auto& themes = themes_;
        themes.clear();
        for (const auto& [key, value] : tags) {
            const auto found = rows_.by_key.find(key);
            if (found == rows_.by_key.end() || value == "no") {
                continue;
            }
            for (const auto& rule : found->second) {
                if (!rule.values || rule.values->count(std::string(value)) > 0) {
                    themes.push_back(rule.theme);
                } else if (value.find(';') != std::string_view::npos) {
                    return Decision::ask_python;  // `a;b`: Python splits and strips
                }
            }
        }
        std::sort(themes.begin(), themes.end());
        themes.erase(std::unique(themes.begin(), themes.end()), themes.end());
        // FilterSet.poi_themes: a selected theme, or (wiki) a name and a reference
        bool passes = false;
        for (const auto& theme : themes) {
            if (rows_.selected.count(std::string(theme)) > 0) {
                passes = true;
                break;
            }
        }
        if (!passes && poi_.wiki && !tag_value("name").empty()) {
            for (const auto& key : poi_.reference_keys) {
                if (!tag_value(key).empty()) {
                    passes = true;
                    break;
                }
            }
        }
        if (!passes) {
            return Decision::not_poi;
        }
        // FeatureBuilder._inside: OSM's 7 decimals, then the rectangle (edges inclusive)
        const double lon = round_to(node.location().lon(), 7);
        const double lat = round_to(node.location().lat(), 7);
        const double* r = rows_.rect;
        if (!(r[0] <= lon && lon <= r[2] && r[1] <= lat && lat <= r[3])) {
            return Decision::not_poi;
        }
        // make_poi: canonical tags, popularity, name, content hash
        auto& json = json_;
        json.clear();
        json.push_back('{');
        for (size_t i = 0; i < tags.size(); ++i) {
            if (i > 0) {
                json.push_back(',');
            }
            json_string(json, tags[i].first);
            json.push_back(':');
            json_string(json, tags[i].second);
        }
        json.push_back('}');
        double score = 0.0;
        for (const auto& weight : rows_.weights) {
            const std::string_view value = tag_value(weight.key);
            if (!value.empty() && value != "no" &&
                (!weight.values || weight.values->count(std::string(value)) > 0)) {
                score += weight.weight;
            }
        }
        score = round_to(std::min(score, 1.0), 2);
        std::string joined;
        for (size_t i = 0; i < themes.size(); ++i) {
            if (i > 0) {
                joined.push_back(',');
            }
            joined.append(themes[i]);
        }
        char number[64];
        Sha256 sha;
        std::snprintf(number, sizeof number, "%.7f|", lon);
        sha.update(number, std::strlen(number));
        std::snprintf(number, sizeof number, "%.7f|", lat);
        sha.update(number, std::strlen(number));
        sha.update(json);
        sha.update("|", 1);
        sha.update(joined);
        std::snprintf(number, sizeof number, "|%.2f", score);
        sha.update(number, std::strlen(number));
        char digest[64];
        sha.hex(digest);
        // the row: sql.POI_TABLE_COLUMNS
        std::string& out = poi_rows_;
        put_be(out, 9, 2);
        put_field(out, "node", 4);
        put_int64(out, node.id());
        put_be(out, 21, 4);
        out.push_back('\x01');  // WKB, little-endian Point
        put_le32(out, 1);
        append_double(out, lon);
        append_double(out, lat);
        const std::string_view name = tag_value("name");
        if (name.empty()) {
            put_be(out, 0xffffffffu, 4);  // NULL
        } else {
            put_field(out, name.data(), name.size());
        }
        put_be(out, 1 + json.size(), 4);  // jsonb: version 1, then the text
        out.push_back('\x01');
        out.append(json);
        constexpr uint32_t kTextOid = 25;
        if (themes.empty()) {
            put_be(out, 12, 4);  // text[]: no dimension
            put_be(out, 0, 4);
            put_be(out, 0, 4);
            put_be(out, kTextOid, 4);
        } else {
            size_t size = 20;
            for (const auto& theme : themes) {
                size += 4 + theme.size();
            }
            put_be(out, size, 4);
            put_be(out, 1, 4);  // one dimension, no NULL
            put_be(out, 0, 4);
            put_be(out, kTextOid, 4);
            put_be(out, themes.size(), 4);
            put_be(out, 1, 4);  // lower bound
            for (const auto& theme : themes) {
                put_field(out, theme.data(), theme.size());
            }
        }
        const float popularity = static_cast<float>(score);  // `real`
        uint32_t bits;
        std::memcpy(&bits, &popularity, 4);
        put_be(out, 4, 4);
        put_be(out, bits, 4);
        put_field(out, rows_.source.data(), rows_.source.size());
        put_field(out, digest, 64);
        ++poi_row_count_;
        return Decision::row;
    }

    // Decode until the batch is full or the file ends (GIL released).
    void fill() {
        if (!reader_) {
            locations_ = std::make_unique<LocationHandler>(*index_);
            locations_->ignore_errors();
            osmium::osm_entity_bits::type bits = osmium::osm_entity_bits::way;
            if (pois_ || network_) {
                bits |= osmium::osm_entity_bits::node;  // locations
            }
            reader_ = std::make_unique<osmium::io::Reader>(osmium::io::File{path_, "pbf"}, bits);
        }
        while (pending() < batch_size_) {
            if (position_ == nullptr) {
                buffer_ = reader_->read();
                if (!buffer_) {
                    reader_->close();
                    done_ = true;
                    join_scan();  // a file without ways: the first pass's errors too
                    return;
                }
                osmium::apply(buffer_, *locations_);
                position_ = std::make_unique<osmium::memory::Buffer::t_iterator<osmium::OSMEntity>>(
                    buffer_.begin<osmium::OSMEntity>());
            }
            auto end = buffer_.end<osmium::OSMEntity>();
            while (*position_ != end && pending() < batch_size_) {
                const osmium::OSMEntity& entity = **position_;
                ++*position_;
                if (entity.type() == osmium::item_type::node) {
                    if (pois_) {
                        poi_node(static_cast<const osmium::Node&>(entity));
                    }
                } else if (entity.type() == osmium::item_type::way) {
                    if (!scan_joined_) {  // the vertices and members are needed now
                        join_scan();
                        scan_joined_ = true;
                    }
                    way(static_cast<const osmium::Way&>(entity));
                }
            }
            if (*position_ == end) {
                position_.reset();
            }
        }
    }

    // Nodes with a POI key and a valid location are read; candidates kept.
    void poi_node(const osmium::Node& node) {
        const auto& tags = node.tags();
        if (tags.empty() || !poi_.has_key(tags) || !node.location().valid()) {
            return;
        }
        ++nodes_read_;
        if (!poi_.candidate(tags)) {
            return;
        }
        if (rows_.enabled && decide_node(node) != Decision::ask_python) {
            return;
        }
        Candidate c{node.id(), tags_of(node), {}, true};
        c.coords.emplace_back(node.location().lon(), node.location().lat());
        poi_nodes_.push_back(std::move(c));
    }

    // Ways with `highway` (network) or a POI key are read.
    void way(const osmium::Way& way) {
        const auto& tags = way.tags();
        if (pois_ && !members_.empty() &&
            std::binary_search(members_.begin(), members_.end(), way.id())) {
            std::vector<std::pair<double, double>> coords;
            if (coords_of(way.nodes(), coords)) {
                member_coords_.emplace_back(way.id(), std::move(coords));
            }
        }
        if (tags.empty()) {
            return;
        }
        const char* highway = network_ ? tags["highway"] : nullptr;
        const bool poi_key = pois_ && poi_.has_key(tags);
        if (highway == nullptr && !poi_key) {
            return;
        }
        ++ways_read_;
        if (poi_key && poi_.candidate(tags)) {
            Candidate c{way.id(), tags_of(way), {}, true};
            c.complete = coords_of(way.nodes(), c.coords);
            poi_ways_.push_back(std::move(c));
        }
        if (highway != nullptr &&
            walk_.walkable_tags(highway, tags["foot"], tags["access"], tags["area"])) {
            walk(way, highway, tags["name"]);
        }
    }

    // network.split_way over a walkable way: pieces between vertices, those with a
    // missing location dropped (their seq number skipped), the geofence applied.
    void walk(const osmium::Way& way, const char* highway, const char* name) {
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
        add_node(source, coords_[start].lon, coords_[start].lat);
        add_node(target, coords_[end].lon, coords_[end].lat);
        batch_.edges.push_back(std::move(edge));
    }

    // An edge's end node for the batch: with wire rows, once per run (a bit per vertex:
    // every edge end is one, as `scan_way` counts way ends twice); else once per batch.
    void add_node(int64_t id, double lon, double lat) {
        if (!wire_) {
            batch_.add_node(id, lon, lat);
            return;
        }
        if (sent_.size() != vertices_.size()) {
            sent_.assign(vertices_.size(), false);
        }
        const auto found = std::lower_bound(vertices_.begin(), vertices_.end(), id);
        if (found != vertices_.end() && *found == id) {
            const auto index = static_cast<size_t>(found - vertices_.begin());
            if (sent_[index]) {
                return;
            }
            sent_[index] = true;
        } else if (!sent_other_.insert(id).second) {
            return;
        }
        batch_.node_order.push_back(id);
        batch_.node_coords.emplace_back(lon, lat);
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
    size_t batch_size_;
    bool network_ = false;
    Rules walk_;
    std::optional<std::vector<double>> rect_;
    std::vector<double> bounds_{-180.0, -90.0, 180.0, 90.0};
    py::object touches_;
    bool pois_ = false;
    PoiRules poi_;

    bool wire_ = false;
    std::vector<bool> sent_;                  // wire rows: vertices_[i] sent this run
    std::unordered_set<int64_t> sent_other_;  // (an edge end is always a vertex)
    bool scanned_ = false;
    bool scan_joined_ = false;
    std::thread scan_thread_;
    std::exception_ptr scan_error_;
    std::atomic<bool> stop_{false};
    std::vector<Relation> relations_;
    std::vector<int64_t> vertices_;
    std::vector<int64_t> members_;
    std::unique_ptr<Index> index_;
    std::unique_ptr<LocationHandler> locations_;
    std::unique_ptr<osmium::io::Reader> reader_;
    osmium::memory::Buffer buffer_;
    std::unique_ptr<osmium::memory::Buffer::t_iterator<osmium::OSMEntity>> position_;
    Batch batch_;
    std::vector<Candidate> poi_nodes_;
    std::vector<Candidate> poi_ways_;
    PoiRowRules rows_;
    std::string poi_rows_;  // decided nodes' `pois` rows (binary COPY), this batch
    size_t poi_row_count_ = 0;
    std::vector<TagView> tag_views_;
    std::vector<std::string_view> themes_;
    std::string json_;
    std::vector<std::pair<int64_t, std::vector<std::pair<double, double>>>> member_coords_;
    std::vector<Coord> coords_;
    std::vector<bool> valid_;
    int64_t nodes_read_ = 0;
    int64_t ways_read_ = 0;
    bool done_ = false;
};

}  // namespace

// The bounding box the file's header declares, or None (a corrupt file raises).
py::object header_box(const std::string& path) {
    osmium::Box box;
    {
        py::gil_scoped_release release;
        osmium::io::Reader reader{osmium::io::File{path, "pbf"}, osmium::osm_entity_bits::nothing};
        box = reader.header().box();
        reader.close();
    }
    if (!box.valid()) {
        return py::none();
    }
    return py::make_tuple(box.bottom_left().lon(), box.bottom_left().lat(), box.top_right().lon(),
                          box.top_right().lat());
}

void bind_reader(py::module_& m) {
    m.def("header_box", &header_box, py::arg("path"),
          "The header's (min_lon, min_lat, max_lon, max_lat), or None when it has none.");
    m.def("round3", &round3, "Python's round(x, 3), as the reader rounds edge lengths.");
    m.def(
        "sha256_hex", [](const py::bytes& data) {
            const std::string text = data;
            Sha256 sha;
            sha.update(text);
            char digest[64];
            sha.hex(digest);
            return std::string(digest, 64);
        },
        "The SHA-256 of the POI rows' content hash, as hex (for tests).");
    m.def(
        "canonical_json", [](const std::vector<std::pair<std::string, std::string>>& tags) {
            std::string out;
            for (const auto& [key, value] : tags) {
                out += out.empty() ? "" : ",";
                json_string(out, key);
                out.push_back(':');
                json_string(out, value);
            }
            return "{" + out + "}";
        },
        "The POI rows' JSON of (key, value) pairs in the order given (for tests).");
    m.def(
        "valid_utf8", [](const py::bytes& data) { return valid_utf8(std::string(data)); },
        "Whether bytes are UTF-8 as Python's strict decoder takes it (for tests).");
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
    py::class_<OsmReader>(m, "OsmReader")
        .def(py::init<std::string, size_t, const std::string&>(), py::arg("path"),
             py::arg("batch_size"), py::arg("location_store") = "flex_mem")
        .def("load_network", &OsmReader::load_network, py::arg("walkable"), py::arg("trunk"),
             py::arg("foot_allowed"), py::arg("foot_forbidden"), py::arg("access_forbidden"),
             py::arg("rect"), py::arg("bounds"), py::arg("touches"))
        .def("load_pois", &OsmReader::load_pois, py::arg("rules"), py::arg("keys"),
             py::arg("wiki"), py::arg("reference_keys"))
        .def("load_poi_rows", &OsmReader::load_poi_rows, py::arg("rules"), py::arg("selected"),
             py::arg("rect"), py::arg("weights"), py::arg("source"))
        .def("scan", &OsmReader::scan)
        .def("relations", &OsmReader::relations)
        .def("next_batch", &OsmReader::next, py::arg("edge_type"), py::arg("wire_type"))
        .def("set_wire", &OsmReader::set_wire, py::arg("wire"))
        .def("member_coords", &OsmReader::member_coords)
        .def_property_readonly("nodes_read", &OsmReader::nodes_read)
        .def_property_readonly("ways_read", &OsmReader::ways_read)
        .def_property_readonly("vertex_count", &OsmReader::vertex_count);
}
