// The signed-in user's API token: entered once, kept in sessionStorage (gone when the browser
// session ends, never sent anywhere but this server), cleared by "sign out".
const KEY = 'innominatus-queue.token';

type Listener = (token: string | null) => void;

export interface Session {
  token(): string | null;
  signIn(token: string): void;
  signOut(): void;
  onChange(listener: Listener): void;
}

export function createSession(storage: Storage = sessionStorage): Session {
  const listeners: Listener[] = [];
  let current = storage.getItem(KEY);
  const set = (token: string | null) => {
    current = token;
    if (token === null) storage.removeItem(KEY);
    else storage.setItem(KEY, token);
    for (const listener of listeners) listener(token);
  };
  return {
    token: () => current,
    signIn: (token) => set(token),
    signOut: () => set(null),
    onChange: (listener) => void listeners.push(listener),
  };
}
