// The JSON shapes of the REST resources (docs/rest-api.md): each entity rendered once, here,
// and the request shapes that more than one resource reads (artifacts, metric points). Pure;
// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "store/metadata_store.h"
#include "workspace/compute_service.h"
#include "workspace/deployment_runtime.h"
#include "workspace/sweep_service.h"

namespace gantry::api {

// A run, with its resolved job (spec, input_trees, datasets, environment).
Json RunToJson(const store::RunRecord& run);
// GET /sweeps/NAME: the sweep's run, its spec, its best trial and every trial with its values,
// status, primary metric and (when a policy stopped it) why.
Json SweepToJson(const workspace::SweepView& view);
Json EventToJson(const store::StatusEvent& event);
// A metric point's value: its number, or the JSON it was logged as.
Json MetricValue(const store::MetricPoint& point);
Json ArtifactToJson(const store::ArtifactRecord& artifact);
Json DatasetToJson(const store::DatasetRecord& dataset);
Json ModelToJson(const store::ModelRecord& model);
Json EnvironmentToJson(const store::EnvironmentRecord& environment);
Json ComputeToJson(const workspace::ComputeTarget& target);
Json TokenToJson(const store::AccessTokenRecord& token);
// `base_url` ("http://HOST:PORT") makes its scoring URI.
Json EndpointToJson(const store::EndpointRecord& endpoint, const std::string& base_url);
// With its replicas' live state.
Json DeploymentToJson(const store::DeploymentRecord& deployment,
                      const std::vector<workspace::ReplicaStatus>& replicas);

// One entry of a run's artifact or file list: {"path", "blob", "size", "mode"}; the path,
// blob and size follow the tree rules (artifacts/tree.h), the mode keeps permission bits.
Result<store::ArtifactRecord> ArtifactFromJson(const Json& entry);
// The "metrics" list a runner posts: {"key", "value", "step", "timestamp", "rank"} each.
Result<std::vector<store::MetricPoint>> MetricPointsFromJson(const Json& metrics);

}  // namespace gantry::api
