// Values test/harness/global-setup.ts provides; read them with inject('…') from 'vitest'.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the Docker-compatible API socket (Podman's or Docker Engine's). */
    dockerSocket: string;
    /** Full tag of the agent image, e.g. localhost/warren-agent:0123456789ab; it exists. */
    agentImage: string;
  }
}
