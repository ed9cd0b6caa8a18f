import net from 'node:net';

/**
 * A TCP proxy in front of a server, to cut one process off from it as a network partition
 * would: `cut()` drops every connection and refuses new ones, `heal()` lets them through again.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private open = true;
  private readonly server: net.Server;
  address = '';

  private constructor(target: string) {
    const [host, port] = target.split(':');
    this.server = net.createServer((client) => {
      if (!this.open) return client.destroy();
      const upstream = net.connect(Number(port), host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(target: string): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.address = `127.0.0.1:${(proxy.server.address() as net.AddressInfo).port}`;
    return proxy;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  heal(): void {
    this.open = true;
  }
}
