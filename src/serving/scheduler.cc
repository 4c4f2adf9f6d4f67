#include "serving/scheduler.h"

#include "serving/batcher.h"

namespace gantry::serving {

std::unique_ptr<InferScheduler> NewScheduler(ModelBackend& backend, int64_t max_batch_size,
                                             int64_t max_queue_delay_us) {
  if (max_batch_size <= 0) return std::make_unique<DirectScheduler>(backend);
  return std::make_unique<Batcher>(backend, BatcherOptions{max_batch_size, max_queue_delay_us});
}

}  // namespace gantry::serving
