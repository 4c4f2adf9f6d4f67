// The one state machine of a deployment (an endpoint's model and its replicas), as
// jobs::CheckTransition is a run's: the states a deployment record can be in, their names
// (what the store, the REST API and the SDK show), and which state may follow which.
//
//   Creating, Updating ──> Succeeded or Failed
//   Succeeded, Failed   ──> Updating (a new generation of the spec)
//   Succeeded           ──> Succeeded or Failed (brought back after a server restart: its
//                           replicas start again)
//   any but Deleting    ──> Deleting (the record then goes)
//
// Creating and Updating are set by EndpointService (a new record, a new generation);
// Succeeded and Failed by the EndpointController (every replica of the generation ready, or
// the generation could not start); Deleting by EndpointService. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry::deploy {

enum class DeploymentState { kCreating, kUpdating, kSucceeded, kFailed, kDeleting };

// "Creating", "Updating", "Succeeded", "Failed", "Deleting".
std::string DeploymentStateName(DeploymentState state);
// The state of that name; nullopt for any other text.
std::optional<DeploymentState> ParseDeploymentState(std::string_view name);
// OK when `to` may follow `from`; FailedPrecondition naming both otherwise.
Status CheckDeploymentTransition(DeploymentState from, DeploymentState to);

}  // namespace gantry::deploy
