// An MCP server that serves the turn's own tools by relaying to the turn's tool client. The Claude
// Agent SDK wants a server instance to run in-process; relaying keeps one tool server per turn (the
// runner's, with the turn's conversation and outbound ids) instead of building a second one.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export function toolProxyServer(tools: () => Promise<Client>): McpServer {
  const proxy = new McpServer({ name: 'warren', version: '0.1.0' }, { capabilities: { tools: {} } });
  // The low-level server: McpServer's own handlers exist only for tools registered on it (none here).
  proxy.server.setRequestHandler(ListToolsRequestSchema, async (request) =>
    (await tools()).listTools(request.params),
  );
  proxy.server.setRequestHandler(CallToolRequestSchema, async (request) =>
    (await tools()).callTool(request.params),
  );
  return proxy;
}
