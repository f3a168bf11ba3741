// Starts the in-memory Firestore emulator (@firestore-emulator/server) on a port.
// Usage: node scripts/firestore_emulator.js PORT
// Prints "READY <port>" on stdout once it accepts connections; exits on SIGINT/SIGTERM.
'use strict';
const { FirestoreServer } = require('@firestore-emulator/server');

const port = Number.parseInt(process.argv[2] || '8181', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port: ${process.argv[2]}`);
  process.exit(2);
}

const server = new FirestoreServer();
server
  .start(port)
  .then(() => {
    console.log(`READY ${port}`);
  })
  .catch((err) => {
    console.error(`firestore emulator failed to start on port ${port}: ${err && err.message}`);
    process.exit(1);
  });

function stop() {
  Promise.resolve(server.stop ? server.stop() : undefined).finally(() => process.exit(0));
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
