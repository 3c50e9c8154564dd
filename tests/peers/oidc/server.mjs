// A real OpenID Connect provider for Mandate's sign-in tests, built on panva's certified
// `oidc-provider`. Clients and people come from a JSON file the test fixture writes:
//
//   {"clients": [{client_id, client_secret, redirect_uris, ...}],
//    "accounts": {"<subject>": {"password": "...", "claims": {"email": ..., ...}}}}
//
//   MANDATE_OIDC_CONFIG=/tmp/x/config.json MANDATE_OIDC_PORT=8112 node server.mjs
//
// Sign-in is a plain HTML form (fields `login`, `password`) at /interaction/<uid>; consent
// is given automatically, as for a first-party application. So a test walks:
// /auth -> /interaction/<uid> (form) -> POST .../login -> /auth/<uid> -> redirect_uri?code=…
import fs from 'node:fs';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const host = process.env.MANDATE_OIDC_HOST || '127.0.0.1';
const port = Number(process.env.MANDATE_OIDC_PORT || 8112);
const issuer = process.env.MANDATE_OIDC_ISSUER || `http://${host}:${port}`;
const config = JSON.parse(fs.readFileSync(process.env.MANDATE_OIDC_CONFIG, 'utf8'));
const accounts = config.accounts || {};

// A fresh RSA signing key per start: the relying party fetches it from the JWKS endpoint.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(6).toString('hex'), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  async findAccount(ctx, subject) {
    const account = accounts[subject];
    if (!account) return undefined;
    return { accountId: subject, async claims() { return { sub: subject, ...account.claims }; } };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => false },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const signInForm = (uid, message) => `<!doctype html><title>Sign in</title>
${message ? `<p id="error">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<input name="login" id="login"> <input name="password" id="password" type="password">
<button type="submit">Sign in</button></form>`;

async function formFields(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function grantConsent(ctx, interaction) {
  const { prompt, params, session, grantId } = interaction;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const result = { consent: { grantId: await grant.save() } };
  return provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) return next();
  ctx.set('cache-control', 'no-store');
  const interaction = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && !match[2]) {
    if (interaction.prompt.name === 'consent') {
      ctx.status = 303;
      return ctx.redirect(await grantConsent(ctx, interaction));
    }
    ctx.type = 'html';
    ctx.body = signInForm(interaction.uid);
    return undefined;
  }
  if (ctx.method === 'POST' && match[2]) {
    const { login, password } = await formFields(ctx.req);
    const account = accounts[login];
    if (!account || account.password !== password) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = signInForm(interaction.uid, 'Wrong username or password');
      return undefined;
    }
    const result = { login: { accountId: login } };
    ctx.status = 303;
    return ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  }
  return ctx.throw(405);
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.listen(port, host, () => console.log(`ready ${issuer}`));
