#include "deploy/deployment_state.h"

namespace gantry::deploy {

std::string DeploymentStateName(DeploymentState state) {
  switch (state) {
    case DeploymentState::kCreating:
      return "Creating";
    case DeploymentState::kUpdating:
      return "Updating";
    case DeploymentState::kSucceeded:
      return "Succeeded";
    case DeploymentState::kFailed:
      return "Failed";
    case DeploymentState::kDeleting:
      return "Deleting";
  }
  return "Unknown";
}

std::optional<DeploymentState> ParseDeploymentState(std::string_view name) {
  for (auto s :
       {DeploymentState::kCreating, DeploymentState::kUpdating, DeploymentState::kSucceeded,
        DeploymentState::kFailed, DeploymentState::kDeleting}) {
    if (DeploymentStateName(s) == name) return s;
  }
  return std::nullopt;
}

Status CheckDeploymentTransition(DeploymentState from, DeploymentState to) {
  using S = DeploymentState;
  bool allowed = false;
  switch (from) {
    case S::kCreating:
    case S::kUpdating:
      allowed = to == S::kSucceeded || to == S::kFailed || to == S::kDeleting;
      break;
    case S::kSucceeded:
      allowed = to != S::kCreating;
      break;
    case S::kFailed:
      allowed = to == S::kUpdating || to == S::kDeleting;
      break;
    case S::kDeleting:
      allowed = false;
      break;
  }
  if (allowed) return Status::Ok();
  return FailedPreconditionError("a deployment cannot go from " + DeploymentStateName(from) +
                                 " to " + DeploymentStateName(to));
}

}  // namespace gantry::deploy
