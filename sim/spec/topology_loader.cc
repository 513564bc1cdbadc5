// SPDX-License-Identifier: Apache-2.0
// File: topology_loader.cc
// load_topology_file / load_topology_text: parse (syntax errors), apply --set overrides,
// expand and validate (every semantic error, located through the parse tree), then build the
// runtime Topology.
#include "stepsim/spec.h"

#include "diagnostics.h"
#include "overrides.h"
#include "spec_locator.h"
#include "text_parser.h"
#include "topologies/topology.pb.h"
#include "topology_expander.h"

namespace stepsim {

Topology load_topology_text(std::string_view text,
                            std::string_view display_name,
                            std::span<const SpecOverride> overrides) {
    const std::string file(display_name);
    spec::Topology message;
    google::protobuf::TextFormat::ParseInfoTree tree;
    spec::SpecLocator locator = spec::parse_with_overrides(text, file, message, tree, overrides);
    spec::Diagnostics diagnostics;
    const spec::ExpandedTopology expanded = spec::expand_topology(message, locator, diagnostics);
    diagnostics.throw_if_any();
    Topology topology = spec::build_topology(expanded, diagnostics);
    diagnostics.throw_if_any();
    return topology;
}

Topology load_topology_file(const std::filesystem::path& path,
                            std::span<const SpecOverride> overrides) {
    return load_topology_text(spec::read_spec_file(path), path.string(), overrides);
}

}  // namespace stepsim
