// `node --import ./loopback-preload.mjs server.js`: makes a server that listens on a
// bare port (all interfaces), such as @modelcontextprotocol/server-everything's
// `app.listen(PORT)`, listen on 127.0.0.1 only.

import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const callback = args.find((a) => typeof a === 'function');
    return listen.call(this, { port: Number(first), host: '127.0.0.1' }, callback);
  }
  return listen.apply(this, args);
};
