/**
 * The gRPC comparison rows: one unary method, `/fastpath.bench.Bench/Echo`, that returns its
 * request. No proto files: the messages are the raw payload bytes, with identity serializers, so
 * gRPC carries exactly the bytes fastpath's Bench.echo carries (fastpath wraps them in MessagePack
 * bin, gRPC in its 5-byte message prefix inside HTTP/2 DATA frames).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

export const GRPC_ECHO_PATH = '/fastpath.bench.Bench/Echo';

const identity = (b: Buffer): Buffer => b;

export const GRPC_ECHO_SERVICE: ServiceDefinition = {
  echo: {
    path: GRPC_ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  } satisfies MethodDefinition<Buffer, Buffer>,
};

/** Echo payloads up to the bench's largest (1 MiB) plus headroom: gRPC's default limit is 4 MiB. */
export const GRPC_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
