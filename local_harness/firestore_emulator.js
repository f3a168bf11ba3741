// Starts the in-memory Firestore emulator (@firestore-emulator/server) on a port.
// Usage: node local_harness/firestore_emulator.js PORT
// Listens on 127.0.0.1 only (the package's own start() binds every interface), prints
// "READY <port>" on stdout once it accepts connections, and exits on SIGINT/SIGTERM.
'use strict';
const { FirestoreServer } = require('@firestore-emulator/server');
// The emulator's own copy of grpc-js (its dependency, not ours), so the credentials match.
const grpc = require(
  require.resolve('@grpc/grpc-js', { paths: [require.resolve('@firestore-emulator/server')] }),
);

const port = Number.parseInt(process.argv[2] || '8181', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port: ${process.argv[2]}`);
  process.exit(2);
}

const server = new FirestoreServer();
// `server.server` is the package's public grpc Server, to which start() adds only the bind.
server.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`firestore emulator failed to start on port ${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`READY ${port}`);
});

function stop() {
  Promise.resolve(server.stop ? server.stop() : undefined).finally(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
