// @shoal/agents: ready-made ranking, extraction and classification agents arrive with the agent API.
export const AGENTS_PACKAGE_VERSION = '0.1.0';
