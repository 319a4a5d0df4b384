// The open channels of the whole process (all threads), so that a normal exit() can tell every
// peer "closed" at once instead of leaving it to notice through the liveness socket.
#pragma once

namespace fastpath {

class Channel;
void RegisterChannel(Channel* ch);
// After this returns, the exit hook no longer touches ch (its mapping may be unmapped).
void UnregisterChannel(Channel* ch);

}  // namespace fastpath
