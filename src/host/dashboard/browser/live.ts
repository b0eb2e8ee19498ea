// The change notices of GET /api/events, read with fetch and a stream reader: EventSource cannot send
// the Authorization header, and the token must not go in the URL. Reconnects after a pause; each
// (re)connection is reported so the page can read everything again.
import { session } from './api.ts';

export interface LiveHandlers {
  onOpen(): void;
  onTopic(topic: string): void;
  onClosed(reason: string): void;
  /** The token was refused: stop trying. */
  onSignedOut(): void;
}

export function startLive(handlers: LiveHandlers): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };

  async function run(): Promise<void> {
    while (!stopped) {
      controller = new AbortController();
      try {
        const response = await fetch('/api/events', {
          headers: { authorization: `Bearer ${session.token() ?? ''}`, accept: 'text/event-stream' },
          signal: controller.signal,
          cache: 'no-store',
        });
        if (response.status === 401) {
          handlers.onSignedOut();
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        handlers.onOpen();
        await readEvents(response.body, handlers.onTopic);
        handlers.onClosed('the stream ended');
      } catch (err) {
        if (stopped) return;
        handlers.onClosed(err instanceof Error ? err.message : String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

/** Calls `onEvent` with each event's name until the stream ends (comments and data are not needed). */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (name: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      const name = /^event: ?(.*)$/m.exec(frame)?.[1];
      if (name) onEvent(name.trim());
    }
  }
}
