import net from 'node:net';

/**
 * Checks that a loopback address can be listened on and connected to, in this process.
 * Resolves undefined when it works, or a short reason (e.g. "EADDRNOTAVAIL") when it does not.
 */
export function loopbackProblem(host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.destroy());
    const done = (reason: string | undefined): void => {
      server.close(() => resolve(reason));
    };
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen({ host, port: 0, ipv6Only: net.isIPv6(host) }, () => {
      const { port } = server.address() as net.AddressInfo;
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        done(undefined);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    });
  });
}
