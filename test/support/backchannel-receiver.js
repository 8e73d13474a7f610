// A back-channel logout receiver, run as its own process (inside a network namespace by the tests):
//   node backchannel-receiver.js <listen address> <cert.pem> <key.pem>
// Prints one JSON line when listening ({ listening: port }) and one per request ({ path, token, ... }).
const { readFileSync } = require('node:fs');
const { createServer } = require('node:https');

const [host, certFile, keyFile] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk.toString()));
  req.on('end', () => {
    const line = {
      path: req.url,
      method: req.method,
      contentType: req.headers['content-type'],
      token: new URLSearchParams(body).get('logout_token'),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    res.writeHead(200, { 'cache-control': 'no-store' }).end();
  });
});
server.listen(0, host, () =>
  process.stdout.write(`${JSON.stringify({ listening: server.address().port })}\n`),
);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
