// AWS Signature Version 4 for the UI's API calls on AWS, where every API route uses AWS_IAM auth. Written from
// the SigV4 spec, matching botocore's SigV4Auth for non-S3 services (tests/e2e/test_ui_sigv4.py compares the two).
// Web Crypto does the SHA-256 and HMAC: it exists on secure pages only (https, localhost).

const ALGORITHM = "AWS4-HMAC-SHA256";
const encoder = new TextEncoder();

// RFC 3986 encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX (encodeURIComponent also spares !'()*).
function encodeStrict(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// The path as sent (already percent-encoded once by the URL parser), with dot segments resolved and empty ones
// dropped, then encoded again: non-S3 services, API Gateway among them, expect each segment encoded twice.
function canonicalPath(pathname) {
  const segments = [];
  for (const segment of pathname.split("/")) {
    if (!segment || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = pathname.endsWith("/") && segments.length ? "/" : "";
  return `/${segments.map(encodeStrict).join("/")}${trailing}`;
}

function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a stray "%": taken literally, as the server would
  }
}

// Each name and value decoded, then encoded strictly, sorted by name then value. A literal "+" is kept as "+"
// (encoded %2B), never read as a space: the UI encodes its query values with encodeURIComponent.
function canonicalQuery(search) {
  const pairs = search
    .replace(/^\?/, "")
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      const [name, value] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
      return [encodeStrict(decode(name)), encodeStrict(decode(value))];
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function bytes(data) {
  if (data === undefined || data === null) return new Uint8Array(0);
  return typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
}

async function sha256Hex(data) {
  return hex(await crypto.subtle.digest("SHA-256", bytes(data)));
}

async function hmac(key, message) {
  const imported = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return crypto.subtle.sign("HMAC", imported, encoder.encode(message));
}

// 20240102T030405Z, from the Date's UTC time.
function amzDate(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/**
 * The headers that sign one request: Authorization, X-Amz-Date and, with a session token, X-Amz-Security-Token.
 * `headers` are the request's own headers to sign as well (the UI passes none: fewer headers, fewer ways for a
 * proxy to break the signature); host, x-amz-date and x-amz-security-token are always signed. The browser sets
 * Host itself, from the URL, so the URL's host (with its port when not the default) is what is signed.
 */
export async function signSigV4({ method, url, headers, body, credentials, region, service, date }) {
  if (!window.crypto || !window.crypto.subtle) {
    throw new Error("Signing AWS requests needs Web Crypto, which browsers offer on https pages only");
  }
  const { accessKeyId, secretAccessKey, sessionToken } = credentials;
  const target = new URL(url, window.location.href);
  const stamp = amzDate(date);
  const day = stamp.slice(0, 8);

  const signed = new Map();
  for (const [name, value] of Object.entries(headers || {})) {
    signed.set(name.toLowerCase(), String(value).trim().replace(/\s+/g, " "));
  }
  signed.set("host", target.host);
  signed.set("x-amz-date", stamp);
  if (sessionToken) signed.set("x-amz-security-token", sessionToken);
  const names = [...signed.keys()].sort();
  const signedHeaders = names.join(";");

  const canonicalRequest = [
    method.toUpperCase(),
    canonicalPath(target.pathname),
    canonicalQuery(target.search),
    `${names.map((name) => `${name}:${signed.get(name)}`).join("\n")}\n`,
    signedHeaders,
    await sha256Hex(body),
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, stamp, scope, await sha256Hex(canonicalRequest)].join("\n");

  const kDate = await hmac(`AWS4${secretAccessKey}`, day);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, service);
  const kSigning = await hmac(kService, "aws4_request");
  const signature = hex(await hmac(kSigning, stringToSign));

  const added = {
    Authorization: `${ALGORITHM} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    "X-Amz-Date": stamp,
  };
  if (sessionToken) added["X-Amz-Security-Token"] = sessionToken;
  return added;
}

// Also on window, where tests/e2e/test_ui_sigv4.py calls it from the page to compare it with botocore's signer.
window.signSigV4 = signSigV4;
