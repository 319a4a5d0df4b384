// Whether the machine has a core to spare for polling (adaptive mode, shm-channel-step.cc).
#pragma once

namespace fastpath {

// Whether the machine has no core to spare for polling: at least two more runnable tasks than
// online cores, from the instantaneous "running/total" field of /proc/loadavg. This thread and its
// peer's poller are among them, so two pollers on two cores are not contention, and one task that
// is briefly runnable (a kernel thread) is not either. Sampled at most every 10 ms (by
// Channel::Contended); where /proc/loadavg cannot be read, never contended.
bool RunnableExceedsCores();

}  // namespace fastpath
