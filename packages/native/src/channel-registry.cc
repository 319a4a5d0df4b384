#include "channel-registry.h"

#include <cstdlib>
#include <mutex>
#include <set>

#include "shm-channel.h"

namespace fastpath {

static std::mutex g_mu;
static std::set<Channel*>* g_open = nullptr;  // leaked on purpose: used from atexit

static void AtExit() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_open) return;
  for (Channel* ch : *g_open) ch->MarkClosedForExit();  // a store and a write(2): exit-safe
}

void RegisterChannel(Channel* ch) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (!g_open) {
    g_open = new std::set<Channel*>();
    std::atexit(AtExit);
  }
  g_open->insert(ch);
}

void UnregisterChannel(Channel* ch) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_open) g_open->erase(ch);
}

}  // namespace fastpath
