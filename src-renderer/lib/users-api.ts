// Calls for Settings → Users and tokens: who the credential belongs to, the accounts
// (administrators) and the API tokens. Each takes the connection's Http (`api.http`).
import {
  tokenPath,
  userPath,
  usersRoutes,
  type Me,
  type TokenCreate,
  type TokenCreated,
  type TokenInfo,
  type TokenList,
  type UserCreate,
  type UserCreated,
  type UserInfo,
  type UserList,
  type UserPatch,
} from '@shared/users-api';
import type { Http } from './http';

export function whoAmI(http: Http, signal?: AbortSignal): Promise<Me> {
  return http.get<Me>(usersRoutes.me, undefined, signal);
}

export async function listUsers(http: Http, signal?: AbortSignal): Promise<UserInfo[]> {
  return (await http.get<UserList>(usersRoutes.users, undefined, signal)).items;
}

export function createUser(http: Http, body: UserCreate): Promise<UserCreated> {
  return http.json<UserCreated>('POST', usersRoutes.users, { json: body, auth: true });
}

export function patchUser(http: Http, name: string, body: UserPatch): Promise<UserInfo> {
  return http.json<UserInfo>('PATCH', userPath(name), { json: body, auth: true });
}

export async function deleteUser(http: Http, name: string): Promise<void> {
  await http.raw('DELETE', userPath(name), { auth: true });
}

/** A user's own tokens; for an administrator every token, worker tokens included. */
export async function listTokens(http: Http, signal?: AbortSignal): Promise<TokenInfo[]> {
  return (await http.get<TokenList>(usersRoutes.tokens, undefined, signal)).items;
}

export function createToken(http: Http, body: TokenCreate): Promise<TokenCreated> {
  return http.json<TokenCreated>('POST', usersRoutes.tokens, { json: body, auth: true });
}

export function revokeToken(http: Http, id: number): Promise<TokenInfo> {
  return http.json<TokenInfo>('DELETE', tokenPath(id), { auth: true });
}
