/**
 * `nest-dpop/cors`: the CORS settings a DPoP API needs when browser apps on other origins call
 * it (`Authorization` and `DPoP` allowed; `DPoP-Nonce`, `WWW-Authenticate`, `Retry-After`
 * exposed), for Nest's `app.enableCors()`, the `cors` package and `@fastify/cors` alike.
 * @packageDocumentation
 */
export { dpopCors, type DPoPCorsOptions, type DPoPCorsSettings } from '../http/dpop-cors.js';
