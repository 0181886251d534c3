// The API client: every call the UI makes goes through api(), which asks for the API token or for AWS
// credentials (then signs with SigV4) when the API or API Gateway wants them, and keeps them in this tab only.
import { signSigV4 } from "./sigv4.js";

const API = new URL("../api/v1/", window.location.href).href.split("#")[0];
const TOKEN_KEY = "backfill-api-token";
const AWS_KEY = "backfill-aws-credentials";
// On AWS the API's own host names its region; a custom domain does not, and the region is typed in.
const API_REGION = (new URL(API).hostname.match(/\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/) || [])[1];

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let tokenPrompt = null;

function askToken(retryMessage) {
  if (tokenPrompt) return tokenPrompt;
  const dialog = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  error.hidden = !retryMessage;
  error.textContent = retryMessage || "";
  input.value = "";
  tokenPrompt = new Promise((resolve) => {
    form.addEventListener(
      "submit",
      (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) return;
        window.sessionStorage.setItem(TOKEN_KEY, value);
        dialog.close();
        tokenPrompt = null;
        resolve(value);
      },
      { once: true }
    );
    dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
    dialog.showModal();
    input.focus();
  });
  return tokenPrompt;
}

function storedCredentials() {
  try {
    return JSON.parse(window.sessionStorage.getItem(AWS_KEY) || "null");
  } catch {
    return null;
  }
}

let credentialsPrompt = null;

// AWS credentials for SigV4, asked once per tab when API Gateway refuses an unsigned call (403).
function askCredentials(retryMessage, refused) {
  if (credentialsPrompt) return credentialsPrompt;
  const dialog = document.getElementById("aws-dialog");
  const form = document.getElementById("aws-form");
  const error = document.getElementById("aws-error");
  const fields = form.elements;
  error.hidden = !retryMessage;
  error.textContent = retryMessage || "";
  const previous = refused || {}; // the refused key and region stay filled in; the secret is typed again
  fields.accessKeyId.value = previous.accessKeyId || "";
  fields.secretAccessKey.value = "";
  fields.sessionToken.value = "";
  fields.region.value = previous.region || API_REGION || "";
  credentialsPrompt = new Promise((resolve) => {
    const submit = (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const credentials = {
        accessKeyId: fields.accessKeyId.value.trim(),
        secretAccessKey: fields.secretAccessKey.value.trim(),
        region: fields.region.value.trim(),
      };
      const sessionToken = fields.sessionToken.value.trim();
      if (sessionToken) credentials.sessionToken = sessionToken;
      window.sessionStorage.setItem(AWS_KEY, JSON.stringify(credentials));
      form.removeEventListener("submit", submit);
      dialog.close();
      credentialsPrompt = null;
      resolve(credentials);
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
    dialog.showModal();
    (fields.accessKeyId.value ? fields.secretAccessKey : fields.accessKeyId).focus();
  });
  return credentialsPrompt;
}

let clockSkewMs = 0; // the server's clock minus ours, learnt from a "Signature expired" answer

// `options.signal` aborts the call (the form's dry run drops a request the next keystroke made stale).
export async function api(method, path, body, options) {
  const { signal, attempt = 0 } = options || {};
  const again = () => api(method, path, body, { signal, attempt: attempt + 1 });
  const url = API + path.replace(/^\//, "");
  const headers = { Accept: "application/json" };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  const credentials = storedCredentials();
  if (credentials) {
    const signed = await signSigV4({
      method,
      url,
      headers: {},
      body: init.body || "",
      credentials,
      region: credentials.region,
      service: "execute-api",
      date: new Date(Date.now() + clockSkewMs),
    });
    Object.assign(headers, signed);
  }
  // The token has its own header, so it goes with SigV4's Authorization.
  if (token) headers["X-Api-Token"] = token;
  const response = await fetch(url, init);
  if (response.status === 401) {
    const hadToken = Boolean(token);
    if (hadToken) window.sessionStorage.removeItem(TOKEN_KEY);
    if (attempt > 3) throw new ApiError(401, "The API refused the token");
    await askToken(hadToken ? "That token was refused; try again." : "");
    return again();
  }
  // Our handler never answers 403: this is API Gateway's IAM check (unsigned, badly signed, not allowed).
  if (response.status === 403) {
    const message = await response
      .json()
      .then((data) => (data && data.message) || "")
      .catch(() => "");
    if (attempt > 3) throw new ApiError(403, message || "AWS refused the request");
    const serverNow = Date.parse(response.headers.get("Date") || "");
    if (credentials && /Signature (expired|not yet current)/i.test(message) && Number.isFinite(serverNow)) {
      clockSkewMs = serverNow - Date.now();
      return again();
    }
    // Calls run in parallel: one sent before the credentials were entered (or replaced) just goes again.
    const current = window.sessionStorage.getItem(AWS_KEY);
    if (current && current !== JSON.stringify(credentials)) return again();
    if (current) window.sessionStorage.removeItem(AWS_KEY);
    await askCredentials(credentials && `AWS refused these credentials: ${message || "403 Forbidden"}`, credentials);
    return again();
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    const message = (data && data.message) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data;
}
