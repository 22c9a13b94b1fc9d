import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * One piece of the daemon's HTTP surface (the page, the API, the library files, OPDS). The server
 * decides who may ask (token, origin) before any route runs; a route answers the requests it owns
 * and returns true, or returns false without writing anything so the next one can look.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;
