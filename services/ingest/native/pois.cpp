// The POI candidates of a .osm.pbf, read in C++ (libosmium), for wildside_ingest.
//
// One pass over nodes and ways with every node location cached (libosmium's flex_mem
// index, as pyosmium's "flex_mem"). Python keeps every decision (themes, the geofence,
// point-on-surface, the row): this reader only hands it the elements that may pass the
// POI filters, with all their tags and their coordinates, and skips the rest in C++.
//
// The pre-filter is a superset of `FilterSet.poi_themes(tags) is not None`: an element
// is a candidate when one of the selected themes' rules may match (its key carries a
// value other than "no" that is in the rule's values, any value when the rule has none,
// or a `a;b` list, which Python splits and tests), or, with `wiki`, when it has a name
// and a non-empty reference key. The multipolygons' member ways (ids from Python's
// relation pass) come back with their coordinates at the end.
//
// Counts, as pbf.py's Python reader counts: nodes carrying one of `keys` with a valid
// location; ways carrying one of `keys` (without `highway` when `skip_highway`: the
// network reader counts those).

#include "native.hpp"

#include <osmium/handler/node_locations_for_ways.hpp>
#include <osmium/index/map/flex_mem.hpp>
#include <osmium/io/pbf_input.hpp>
#include <osmium/io/reader.hpp>
#include <osmium/memory/buffer.hpp>
#include <osmium/osm/node.hpp>
#include <osmium/osm/way.hpp>
#include <osmium/visitor.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Rule {
    std::string key;
    std::optional<StringSet> values;
};

struct Tag {
    std::string key;
    std::string value;
};

struct Candidate {
    int64_t id;
    std::vector<Tag> tags;
    std::vector<std::pair<double, double>> coords;  // a node: one point
    bool complete;                                  // every node location is known
};

using Index = osmium::index::map::FlexMem<osmium::unsigned_object_id_type, osmium::Location>;
using LocationHandler = osmium::handler::NodeLocationsForWays<Index>;

class PoiReader {
public:
    PoiReader(std::string path, const py::iterable& rules, const py::iterable& keys, bool wiki,
              const py::iterable& reference_keys, const py::iterable& member_ways,
              bool skip_highway, size_t batch_size)
        : path_(std::move(path)),
          wiki_(wiki),
          skip_highway_(skip_highway),
          batch_size_(std::max<size_t>(1, batch_size)) {
        for (auto item : rules) {
            auto pair = item.cast<py::tuple>();
            Rule rule;
            rule.key = pair[0].cast<std::string>();
            if (!pair[1].is_none()) {
                rule.values = to_set(pair[1].cast<py::iterable>());
            }
            rules_.push_back(std::move(rule));
        }
        for (auto key : keys) {
            keys_.push_back(key.cast<std::string>());
        }
        for (auto key : reference_keys) {
            reference_keys_.push_back(key.cast<std::string>());
        }
        for (auto id : member_ways) {
            members_.push_back(id.cast<int64_t>());
        }
        std::sort(members_.begin(), members_.end());
    }

    int64_t nodes_read() const { return nodes_read_; }
    int64_t ways_read() const { return ways_read_; }

    // The next candidates as (nodes, ways): [(id, tags, lon, lat)] and
    // [(id, tags, coords or None when a node location is missing)]; StopIteration at
    // the end.
    py::tuple next() {
        if (done_) {
            throw py::stop_iteration();
        }
        {
            py::gil_scoped_release release;
            fill();
        }
        if (nodes_.empty() && ways_.empty() && done_) {
            throw py::stop_iteration();
        }
        py::list nodes(nodes_.size());
        for (size_t i = 0; i < nodes_.size(); ++i) {
            const auto& c = nodes_[i];
            nodes[i] = py::make_tuple(c.id, tags(c), c.coords[0].first, c.coords[0].second);
        }
        py::list ways(ways_.size());
        for (size_t i = 0; i < ways_.size(); ++i) {
            const auto& c = ways_[i];
            py::object coords = c.complete ? py::object(line(c.coords)) : py::object(py::none());
            ways[i] = py::make_tuple(c.id, tags(c), coords);
        }
        nodes_.clear();
        ways_.clear();
        return py::make_tuple(nodes, ways);
    }

    // {way id: [(lon, lat), ...]} of the member ways whose every node location is known
    // (after the last batch).
    py::dict member_coords() const {
        py::dict result;
        for (const auto& [id, coords] : member_coords_) {
            result[py::int_(id)] = line(coords);
        }
        return result;
    }

private:
    static py::dict tags(const Candidate& c) {
        py::dict result;
        for (const auto& tag : c.tags) {
            result[py::str(tag.key)] = py::str(tag.value);
        }
        return result;
    }

    static py::list line(const std::vector<std::pair<double, double>>& coords) {
        py::list result(coords.size());
        for (size_t i = 0; i < coords.size(); ++i) {
            result[i] = py::make_tuple(coords[i].first, coords[i].second);
        }
        return result;
    }

    bool has_key(const osmium::TagList& tags) const {
        for (const auto& key : keys_) {
            if (tags.has_key(key.c_str())) {
                return true;
            }
        }
        return false;
    }

    bool candidate(const osmium::TagList& tags) const {
        for (const auto& rule : rules_) {
            const char* value = tags[rule.key.c_str()];
            if (value == nullptr || std::strcmp(value, "no") == 0) {
                continue;
            }
            if (!rule.values || rule.values->count(value) > 0 || std::strchr(value, ';')) {
                return true;
            }
        }
        if (wiki_) {
            const char* name = tags["name"];
            if (name != nullptr && name[0] != '\0') {
                for (const auto& key : reference_keys_) {
                    const char* value = tags[key.c_str()];
                    if (value != nullptr && value[0] != '\0') {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    static Candidate make(const osmium::OSMObject& object) {
        Candidate c{object.id(), {}, {}, true};
        for (const auto& tag : object.tags()) {
            c.tags.push_back(Tag{tag.key(), tag.value()});
        }
        return c;
    }

    static bool coords_of(const osmium::WayNodeList& nodes,
                          std::vector<std::pair<double, double>>& coords) {
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

    void node(const osmium::Node& node) {
        const auto& tags = node.tags();
        if (tags.empty() || !has_key(tags) || !node.location().valid()) {
            return;
        }
        ++nodes_read_;
        if (!candidate(tags)) {
            return;
        }
        Candidate c = make(node);
        c.coords.emplace_back(node.location().lon(), node.location().lat());
        nodes_.push_back(std::move(c));
    }

    void way(const osmium::Way& way) {
        const auto& tags = way.tags();
        if (std::binary_search(members_.begin(), members_.end(), way.id())) {
            std::vector<std::pair<double, double>> coords;
            if (coords_of(way.nodes(), coords)) {
                member_coords_.emplace_back(way.id(), std::move(coords));
            }
        }
        if (tags.empty() || !has_key(tags)) {
            return;
        }
        if (!(skip_highway_ && tags.has_key("highway"))) {
            ++ways_read_;
        }
        if (!candidate(tags)) {
            return;
        }
        Candidate c = make(way);
        c.complete = coords_of(way.nodes(), c.coords);
        ways_.push_back(std::move(c));
    }

    // Decode until a batch of candidates is ready or the file ends (GIL released).
    void fill() {
        if (!reader_) {
            index_ = std::make_unique<Index>();
            locations_ = std::make_unique<LocationHandler>(*index_);
            locations_->ignore_errors();
            reader_ = std::make_unique<osmium::io::Reader>(
                osmium::io::File{path_, "pbf"},
                osmium::osm_entity_bits::node | osmium::osm_entity_bits::way);
        }
        while (nodes_.size() + ways_.size() < batch_size_) {
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
            while (*position_ != end && nodes_.size() + ways_.size() < batch_size_) {
                const osmium::OSMEntity& entity = **position_;
                ++*position_;
                if (entity.type() == osmium::item_type::node) {
                    node(static_cast<const osmium::Node&>(entity));
                } else if (entity.type() == osmium::item_type::way) {
                    way(static_cast<const osmium::Way&>(entity));
                }
            }
            if (*position_ == end) {
                position_.reset();
            }
        }
    }

    std::string path_;
    std::vector<Rule> rules_;
    std::vector<std::string> keys_;
    bool wiki_;
    std::vector<std::string> reference_keys_;
    std::vector<int64_t> members_;
    bool skip_highway_;
    size_t batch_size_;

    std::unique_ptr<Index> index_;
    std::unique_ptr<LocationHandler> locations_;
    std::unique_ptr<osmium::io::Reader> reader_;
    osmium::memory::Buffer buffer_;
    std::unique_ptr<osmium::memory::Buffer::t_iterator<osmium::OSMEntity>> position_;
    std::vector<Candidate> nodes_;
    std::vector<Candidate> ways_;
    std::vector<std::pair<int64_t, std::vector<std::pair<double, double>>>> member_coords_;
    int64_t nodes_read_ = 0;
    int64_t ways_read_ = 0;
    bool done_ = false;
};

}  // namespace

void bind_pois(py::module_& m) {
    py::class_<PoiReader>(m, "PoiReader")
        .def(py::init<std::string, const py::iterable&, const py::iterable&, bool,
                      const py::iterable&, const py::iterable&, bool, size_t>(),
             py::arg("path"), py::arg("rules"), py::arg("keys"), py::arg("wiki"),
             py::arg("reference_keys"), py::arg("member_ways"), py::arg("skip_highway"),
             py::arg("batch_size"))
        .def("next_batch", &PoiReader::next)
        .def("member_coords", &PoiReader::member_coords)
        .def_property_readonly("nodes_read", &PoiReader::nodes_read)
        .def_property_readonly("ways_read", &PoiReader::ways_read);
}
