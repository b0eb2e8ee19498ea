// hoodiecrow-imap ships no types: the part of its server the email tests use.
declare module 'hoodiecrow-imap' {
  import type { Server } from 'node:net';

  interface HoodiecrowMessage {
    uid: number;
    raw: string;
    internaldate: string;
    flags: string[];
  }
  interface HoodiecrowMailbox {
    uid: number;
    uidvalidity: number;
    uidnext: number;
    messages: HoodiecrowMessage[];
  }
  interface HoodiecrowServer {
    server: Server;
    listen(port: number, host: string, callback: () => void): void;
    close(callback?: () => void): void;
    getMailbox(path: string): HoodiecrowMailbox;
    appendMessage(
      mailbox: string,
      flags: string[],
      internaldate: Date | false,
      raw: string,
    ): { mailbox: HoodiecrowMailbox; message: HoodiecrowMessage };
  }
  interface HoodiecrowOptions {
    plugins?: string[];
    users?: Record<string, { password: string }>;
    storage?: Record<string, unknown>;
    debug?: boolean;
  }
  export default function hoodiecrow(options?: HoodiecrowOptions): HoodiecrowServer;
}
