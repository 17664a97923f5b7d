// JWTs signed by the tests themselves: a signing key (RS256 or ES256) with its kid, the JWKS
// document publishing keys, and a compact JWS of given claims. Used by the JWT auth tests and
// by every test that authenticates a caller with a token.
import { generateKeyPairSync, sign } from 'node:crypto';

const b64url = (data) => Buffer.from(data).toString('base64url');

// A key pair with its kid and alg (RS256: RSA 2048; ES256: P-256).
export function signingKey(kid, alg = 'RS256') {
  const pair =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, ...pair };
}

// The JWKS document (JSON text) publishing the public halves of `keys`.
export const jwks = (...keys) =>
  JSON.stringify({ keys: keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, use: 'sig' })) });

// `claims` signed with `key`; the header names `kid` (the key's own unless given).
export function signJwt(key, claims, { kid = key.kid } = {}) {
  const header = b64url(JSON.stringify({ alg: key.alg, typ: 'JWT', kid }));
  const input = `${header}.${b64url(JSON.stringify(claims))}`;
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), key.privateKey);
  return `${input}.${b64url(signature)}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
