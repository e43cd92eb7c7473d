// A real OAuth 2 server (oauth2-mock-server) playing Calendly's hosts for the API tests.
//
// It serves Calendly's paths (authorize, token, /users/me) on 127.0.0.1 at a free port, checks
// PKCE itself, and prints `listening <port>` once ready. Beside it:
//   GET  /_requests  every token request so far: grant type, whether a code_verifier came,
//                    the refresh token presented (tests check rotation with it);
//   POST /_revoke    from now on, refresh grants are answered 400 invalid_grant.
// It stops when its standard input closes, so it never outlives the test that started it.

import http from 'node:http';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';

const issuer = new OAuth2Issuer();
await issuer.keys.generate('RS256');
const service = new OAuth2Service(issuer, {
  authorize: '/oauth/authorize',
  token: '/oauth/token',
  userinfo: '/users/me',
});

const tokenRequests = [];
let revoked = false;

service.on('beforeResponse', (response, req) => {
  const body = req.body ?? {};
  tokenRequests.push({
    grant_type: body.grant_type ?? null,
    code_verifier: typeof body.code_verifier === 'string',
    refresh_token: body.refresh_token ?? null,
    status: response.statusCode,
  });
  if (revoked && body.grant_type === 'refresh_token') {
    response.statusCode = 400;
    response.body = { error: 'invalid_grant', error_description: 'The grant was revoked.' };
    tokenRequests[tokenRequests.length - 1].status = 400;
  }
});

// Calendly's answer shape for the current user.
service.on('beforeUserinfo', (response) => {
  response.body = {
    resource: { name: 'John Doe', uri: 'https://api.calendly.com/users/johndoe' },
  };
});

const server = http.createServer((req, res) => {
  if (req.url === '/_requests') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(tokenRequests));
    return;
  }
  if (req.url === '/_revoke' && req.method === 'POST') {
    revoked = true;
    res.statusCode = 204;
    res.end();
    return;
  }
  service.requestHandler(req, res);
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  issuer.url = `http://127.0.0.1:${port}`;
  console.log(`listening ${port}`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
