/**
 * A receiver's URL as requests use it and as logs may show it. A webhook URL or an ntfy topic can
 * itself be the secret (anyone who knows it can post or read), so logs only ever show the origin.
 */
export interface Receiver {
  /** The URL without user:password. */
  url: string;
  /** `Basic …` from user:password in the URL, which fetch would refuse to send as part of it. */
  authorization: string | undefined;
  /** What a log line may say about it. */
  origin: string;
}

export function receiver(text: string): Receiver {
  const url = new URL(text);
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization, origin: url.origin };
}
