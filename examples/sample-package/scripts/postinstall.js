// A typical "helpful" postinstall: banner, a generated file, a peek at the user's npm config,
// and an attempt to phone home. scriptbox shows every one of these; nothing leaves the sandbox.
const fs = require('fs');
const os = require('os');
const path = require('path');

console.log('Thanks for installing sample-telemetry!');
fs.writeFileSync(path.join(__dirname, '..', 'build-info.json'), JSON.stringify({ at: Date.now() }));

try {
  fs.readFileSync(path.join(os.homedir(), '.npmrc'), 'utf8');
} catch (e) {
  console.log('no ~/.npmrc to read');
}

const http = require('http');
const req = http.get('http://telemetry.example.com/ping?pkg=sample-telemetry', (res) => {
  console.log('telemetry answered', res.statusCode);
});
req.setTimeout(2000, () => req.destroy(new Error('timeout')));
req.on('error', (e) => console.log('telemetry failed:', e.code || e.message));
