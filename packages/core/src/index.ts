// Errors and codes
export { Status, codeFromStatus, statusOf, isCode, type Code, type StatusNumber } from './protocol/codes.js';
export { FastpathError, ProtocolError, toFastpathError, type ErrorDetails, type FastpathErrorOptions } from './protocol/errors.js';

// Protocol (for tools, tests and other-language implementers)
export { FrameType, HEADER_BYTES, DEFAULT_MAX_FRAME_BYTES, buildFrame, frameTypeName, type Frame } from './protocol/frame.js';
export { FrameParser, type FrameHandler } from './protocol/frame-parser.js';
export { encode, decode } from './protocol/codec.js';
export { PROTOCOL_VERSIONS, type Hello, type Welcome } from './protocol/handshake.js';
export type { Metadata, GoAway } from './protocol/messages.js';
export { HMAC_SCHEME, TOKEN_SCHEME, hmacInput, helloAuth, type HelloAuth, type TokenAuth, type HmacAuth } from './protocol/auth.js';

// Transports
export { parseAddress, formatAddress, type Address } from './transport/address.js';
export { registerTransport, getTransport, registeredSchemes } from './transport/registry.js';
export type { Connection, Listener, Tier, TransportFactory, ConnectOptions, ListenOptions, TlsDetails, TlsClientOptions, TlsServerOptions } from './transport/types.js';
export { registerUpgradeTier, getUpgradeTier, upgradeTiers, TIER_ORDER, type UpgradeTier, type TierServer, type TierOffer, type TierOptions } from './transport/upgrade-tier.js';
export { hostIdentity, currentUid, type HostIdentity } from './transport/host-identity.js';
export { loadNative, type NativeStatus, type NativeHost } from './transport/native-loader.js';
export { readPeerCredentials, type PeerCredentials } from './transport/peer-credentials.js';

// Sessions
export type { Deadline } from './session/deadline.js';
export type { PeerInfo } from './session/server-call.js';
export type { PathInfo, PathTls, FastPathMode, TlsLocal } from './session/upgrade.js';
export type { FastPathOptions, CommonOptions } from './api/options.js';

// API
export { Server, type ServerOptions, type ServerEvents, type ConnectionInfo, type CloseOptions, type Handler } from './api/server.js';
export { Client, connect, type ClientOptions, type ClientEvents } from './api/client.js';
export type { ConnectTarget, RetryOptions, TargetOptions } from './api/connect-target.js';
export { backoffDelay, type BackoffOptions } from './session/backoff.js';
export {
  defineService,
  methodPath,
  type CallOptions,
  type CallContext,
  type ServiceClient,
  type UnaryServiceClient,
  type ServiceHandlers,
  type ServiceDefinition,
  type MethodOptions,
  type MethodKeys,
  type TopicKeys,
  type RequestOf,
  type ResponseOf,
  type Stream,
  type Topic,
  type TopicClient,
} from './api/service.js';
export { Subscription, type Message, type SubscribeOptions } from './api/subscription.js';
export type { StreamCall } from './api/streaming.js';
export { checkPublishSubject, checkSubscribeSubject, subjectMatches } from './protocol/subject.js';
export type { QueueLimits, SlowConsumerPolicy } from './session/broker.js';
export type { PubSubAuth, SlowConsumerInfo } from './session/server-subscriptions.js';
export type { MethodKind } from './session/server-stream.js';
export type { ClientInterceptor, ServerInterceptor, ClientCallInfo, ServerCallInfo } from './api/interceptors.js';
export type { AuthContext, AuthMethod, AuthVerdict, Credentials, ServerAuthOptions, ClientAuth, CallAuthorizer, ServerMethodOptions, AddServiceOptions } from './api/auth.js';
export { DEFAULT_LIMITS, type ServerLimits } from './session/limits.js';
export { runValidator, type Validator, type StandardSchemaV1 } from './api/validation.js';

// Observability: metrics() snapshots and node:diagnostics_channel channels (docs/observability.md).
export { channels as diagnosticsChannels, type CallEndMessage, type CallStartMessage, type ConnectMessage, type DisconnectMessage, type PathMessage, type Side } from './observe/diagnostics.js';
export type { CallCounts, LatencySummary } from './observe/call-stats.js';
export type { ClientMetrics, ConnectionMetrics, ServerMetrics } from './observe/metrics.js';
export type { ReconnectInfo, ReconnectingInfo, RetryInfo, ReconnectQueueOptions } from './api/client-options.js';
