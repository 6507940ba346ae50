// Verifies the twins' webhook signatures as a receiver would, with nothing
// but Node's standard library.
//
//   node verify.mjs input.json
//
// input.json: {"ed25519": PEM, "rsa": PEM or "", "deliveries": [{"twin":
// "highlevel" | "m360", "headers": {lower-case name: value}, "body": base64
// of the exact body, "secret": the Marketing 360 subscription's secret}]}.
//
// It prints {"index", "ok", "checks"} as one JSON line per delivery and
// exits 0 only when every delivery verifies.
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const ed25519Key = createPublicKey(input.ed25519);
const rsaKey = input.rsa ? createPublicKey(input.rsa) : null;

// HighLevel: x-ghl-signature is base64 Ed25519 over the body; x-wh-signature
// (when the twin signs with RSA) base64 RSASSA-PKCS1-v1_5 SHA-256 over it.
function highlevel(body, headers) {
  const checks = { 'x-ghl-signature': signedBy(null, ed25519Key, body, headers['x-ghl-signature']) };
  if (rsaKey) {
    checks['x-wh-signature'] = signedBy('sha256', rsaKey, body, headers['x-wh-signature']);
  }
  return checks;
}

function signedBy(algorithm, key, body, signature) {
  return Boolean(signature) && verify(algorithm, body, key, Buffer.from(signature, 'base64'));
}

// Marketing 360: X-M360-Signature is "t=<epoch seconds>,v1=<hex HMAC-SHA256
// of t + "." + body>", keyed with the subscription's secret.
function m360(body, headers, secret) {
  const fields = new Map((headers['x-m360-signature'] ?? '').split(',').map((f) => f.trim().split('=', 2)));
  const t = fields.get('t') ?? '';
  const v1 = fields.get('v1') ?? '';
  if (!secret || !/^\d+$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) {
    return { 'x-m360-signature': false };
  }
  const want = createHmac('sha256', secret).update(t + '.').update(body).digest();
  return { 'x-m360-signature': timingSafeEqual(Buffer.from(v1, 'hex'), want) };
}

let allOk = true;
input.deliveries.forEach((d, index) => {
  const body = Buffer.from(d.body, 'base64');
  let checks;
  try {
    if (d.twin === 'highlevel') checks = highlevel(body, d.headers);
    else if (d.twin === 'm360') checks = m360(body, d.headers, d.secret);
    else checks = { twin: false };
  } catch (err) {
    checks = { error: String(err) };
  }
  const ok = Object.values(checks).every((c) => c === true);
  allOk &&= ok;
  console.log(JSON.stringify({ index, ok, checks }));
});
process.exitCode = allOk ? 0 : 1;
