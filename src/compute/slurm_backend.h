// The pure pieces of the Slurm backend (NewSlurmBackend in compute_backend.h): the batch
// script a run becomes, and reading what sbatch and `scontrol show job` print. Kept apart so
// they are tested without a cluster. Thread-safe: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/files.h"
#include "common/status.h"
#include "compute/compute_backend.h"

namespace gantry::compute {

// The batch script for `request`: #SBATCH directives for the job name (gantry-RUN), one node,
// one task per node, the node shape, the time limit, partition/account/qos, the target's
// extra arguments and the output file (NODE_ROOT/gantry-RUN.slurm-%j.out); its one step
// `srun`s `executable runner` with the run's work folder under the node root. The token is
// not in the script: it reaches the job through sbatch's environment.
std::string BuildSbatchScript(const LaunchRequest& request, const fs::path& executable);

// `--time` for a job whose command may run `timeout_seconds`: that plus a margin for
// preparing and uploading, in whole minutes; "" when there is no timeout.
std::string SlurmTimeLimit(int64_t timeout_seconds);

// The job id from `sbatch --parsable` ("12" or "12;cluster"). InvalidArgument otherwise.
Result<std::string> ParseSbatchJobId(std::string_view out);

// `scontrol show job -o ID` as KEY → VALUE (JobState, Reason, NodeList, ...). Values run to
// the next " KEY=" so ones with spaces survive. InvalidArgument when there is no JobState.
Result<std::map<std::string, std::string>> ParseScontrolJob(std::string_view out);

// The format PollJobs asks squeue for, and its output as job id → {JobState, Reason,
// NodeList} (the names ClassifySlurmJob reads). Lines that do not parse are skipped.
inline constexpr char kSqueueFormat[] = "%i|%T|%r|%N";
std::map<std::string, std::map<std::string, std::string>> ParseSqueue(std::string_view out);

// What the job's fields mean for its runner: PENDING (and CONFIGURING, REQUEUED, SUSPENDED,
// ...) → kPending with Slurm's reason; RUNNING, COMPLETING → kRunning; any other state →
// kGone with the state and reason.
RunnerPoll ClassifySlurmJob(const std::string& job_id,
                            const std::map<std::string, std::string>& fields);

}  // namespace gantry::compute
