// The conventional Node peer of bench/peers.py: Apollo Server + DataLoader over DynamoDB.
//
// It serves the part of the Multi-Agent Management API schema that the benchmark's four
// documents use (Dashboard, project(id), agent(id), deployment(id)) over the same seven tables
// and item shapes as the Python server, the way a competent Node team would write it:
// - one DataLoader per table per request, keyed by the item's id (the user is the caller);
//   its batch function is BatchGetItem by key, chunks of 100 in parallel, UnprocessedKeys
//   retried with backoff;
// - `projects` is a Query of the caller's partition of the Projects table (every page);
// - a project's children are loaded by the ids its item lists (agentIds, toolIds, envIds,
//   mainAgentConfig, the newest `limit` of deploymentIds); deployments are whole items;
// - Agent.tools is the project's tools (by its toolIds) filtered to the agent's tool names;
//   Agent.builtinTools are read by name from the BuiltinTools table through a loader.
// Auth is the Python server's dev mode: the caller names itself in X-Dev-User.
//
// Usage: node server.js [PORT]    (or PORT=...); DYNAMODB_ENDPOINT_URL, TABLE_PREFIX,
// AWS_REGION and the usual AWS credential variables configure DynamoDB.

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';

const PREFIX = process.env.TABLE_PREFIX ?? 'multi-agent-';
const TABLES = {
  projects: `${PREFIX}projects`,
  agents: `${PREFIX}agents`,
  tools: `${PREFIX}tools`,
  mainConfig: `${PREFIX}main-config`,
  environment: `${PREFIX}environment`,
  deployments: `${PREFIX}deployments`,
  builtinTools: `${PREFIX}builtin-tools`,
};
const BATCH_GET_LIMIT = 100; // keys per BatchGetItem request
const UNPROCESSED_RETRIES = 8;
const DEFAULT_DEPLOYMENTS = 20;
const MAX_DEPLOYMENTS = 100;
const DEV_USER = /^[A-Za-z0-9@._+:-]{1,128}$/;

const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({
    region: process.env.AWS_REGION ?? 'us-east-1',
    endpoint: process.env.DYNAMODB_ENDPOINT_URL || undefined,
  }),
);

const typeDefs = `#graphql
  scalar DateTime

  enum DeploymentStatus { PENDING DEPLOYING SUCCESS FAILED }
  enum ToolType { FRONTEND_ACTION CODE }

  type Query {
    viewer: Viewer!
    projects: [Project!]!
    project(id: ID!): Project
    agent(id: ID!): Agent
    deployment(id: ID!): Deployment
  }

  type Viewer { userId: ID! }

  type Project {
    id: ID!
    name: String!
    description: String!
    updatedAt: DateTime!
    agents: [Agent!]!
    tools: [Tool!]!
    mainConfig: MainAgentConfig
    envVars: [EnvVar!]!
    deployments(limit: Int = null): [Deployment!]!
    latestDeployment: Deployment
  }

  type ModelConfig { region: String! modelId: String! }

  type Agent {
    id: ID!
    name: String!
    model: ModelConfig!
    tools: [Tool!]!
    builtinTools: [BuiltinTool!]!
  }

  type Tool { id: ID! name: String! type: ToolType! }
  type BuiltinTool { name: ID! category: String! }
  type MainAgentConfig { name: String! model: ModelConfig! }
  type EnvVar { key: String! value: String secret: Boolean! }

  type Deployment {
    id: ID!
    status: DeploymentStatus!
    createdAt: DateTime!
    project: Project
  }
`;

// -- DynamoDB ------------------------------------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every item found for `keys` of `table`, in no particular order. */
async function batchGet(table, keys) {
  const chunks = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    chunks.push(keys.slice(start, start + BATCH_GET_LIMIT));
  }
  const pages = await Promise.all(chunks.map((chunk) => batchGetChunk(table, chunk)));
  return pages.flat();
}

async function batchGetChunk(table, keys) {
  const items = [];
  let request = { [table]: { Keys: keys } };
  for (let attempt = 0; ; attempt += 1) {
    const answer = await dynamo.send(new BatchGetCommand({ RequestItems: request }));
    items.push(...(answer.Responses?.[table] ?? []));
    const unprocessed = answer.UnprocessedKeys?.[table];
    if (!unprocessed?.Keys?.length) return items;
    if (attempt + 1 >= UNPROCESSED_RETRIES) {
      throw new Error(`DynamoDB left ${unprocessed.Keys.length} keys of ${table} unprocessed`);
    }
    await sleep(Math.random() * 25 * 2 ** attempt);
    request = { [table]: unprocessed };
  }
}

/** The caller's whole partition of `table`, page after page, in key order. */
async function queryPartition(table, userId) {
  const items = [];
  let start;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'userId = :userId',
        ExpressionAttributeValues: { ':userId': userId },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** A loader of the caller's items of `table` by their sort key; null where none is. */
function byIdLoader(table, sortKey, userId) {
  return new DataLoader(async (ids) => {
    const items = await batchGet(
      table,
      ids.map((id) => ({ userId, [sortKey]: id })),
    );
    const found = new Map(items.map((item) => [item[sortKey], item]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

function builtinToolLoader() {
  return new DataLoader(async (names) => {
    const items = await batchGet(
      TABLES.builtinTools,
      names.map((toolName) => ({ toolName })),
    );
    const found = new Map(items.map((item) => [item.toolName, item]));
    return names.map((name) => found.get(name) ?? null);
  });
}

function loadersFor(userId) {
  return {
    projects: byIdLoader(TABLES.projects, 'projectId', userId),
    agents: byIdLoader(TABLES.agents, 'agentId', userId),
    tools: byIdLoader(TABLES.tools, 'toolId', userId),
    mainConfigs: byIdLoader(TABLES.mainConfig, 'configId', userId),
    envVars: byIdLoader(TABLES.environment, 'envId', userId),
    deployments: byIdLoader(TABLES.deployments, 'deploymentId', userId),
    builtinTools: builtinToolLoader(),
  };
}

// -- resolvers -----------------------------------------------------------------------------

const present = (items) => items.filter((item) => item != null && !(item instanceof Error));
const loadAll = async (loader, ids) => present(await loader.loadMany(ids ?? []));
const modelOf = (config) => ({
  region: config?.model?.region ?? '',
  modelId: config?.model?.model_id ?? '',
});

const resolvers = {
  Query: {
    viewer: (_, __, { userId }) => ({ userId }),
    projects: async (_, __, { userId, loaders }) => {
      const projects = await queryPartition(TABLES.projects, userId);
      for (const project of projects) loaders.projects.prime(project.projectId, project);
      return projects;
    },
    project: (_, { id }, { loaders }) => loaders.projects.load(id),
    agent: (_, { id }, { loaders }) => loaders.agents.load(id),
    deployment: (_, { id }, { loaders }) => loaders.deployments.load(id),
  },
  Project: {
    id: (project) => project.projectId,
    description: (project) => project.description ?? '',
    agents: (project, _, { loaders }) => loadAll(loaders.agents, project.agentIds),
    tools: (project, _, { loaders }) => loadAll(loaders.tools, project.toolIds),
    mainConfig: (project, _, { loaders }) =>
      loaders.mainConfigs.load(project.mainAgentConfig ?? `project-${project.projectId}`),
    envVars: async (project, _, { loaders }) => {
      const variables = await loadAll(loaders.envVars, project.envIds);
      return variables.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    deployments: (project, { limit }, { loaders }) => {
      const count = Math.max(0, Math.min(limit ?? DEFAULT_DEPLOYMENTS, MAX_DEPLOYMENTS));
      const ids = count ? (project.deploymentIds ?? []).slice(-count).reverse() : [];
      return loadAll(loaders.deployments, ids);
    },
    latestDeployment: (project, _, { loaders }) => {
      const ids = project.deploymentIds ?? [];
      return ids.length ? loaders.deployments.load(ids[ids.length - 1]) : null;
    },
  },
  Agent: {
    id: (agent) => agent.agentId,
    model: (agent) => modelOf(agent.config),
    tools: async (agent, _, { loaders }) => {
      const project = await loaders.projects.load(agent.projectId);
      if (!project) return [];
      const tools = await loadAll(loaders.tools, project.toolIds);
      const byName = new Map(tools.map((tool) => [tool.name, tool]));
      return (agent.config?.tools ?? []).filter((name) => byName.has(name)).map((name) => byName.get(name));
    },
    builtinTools: (agent, _, { loaders }) =>
      loadAll(loaders.builtinTools, agent.config?.builtin_tools),
  },
  Tool: {
    id: (tool) => tool.toolId,
    type: (tool) => (tool.config?.type ?? 'code').toUpperCase(),
  },
  BuiltinTool: {
    name: (tool) => tool.toolName,
  },
  MainAgentConfig: {
    name: (main) => main.config?.name ?? '',
    model: (main) => modelOf(main.config),
  },
  EnvVar: {
    value: (variable) => (variable.secret ? null : variable.value),
    secret: (variable) => Boolean(variable.secret),
  },
  Deployment: {
    id: (deployment) => deployment.deploymentId,
    status: (deployment) => deployment.status.toUpperCase(),
    project: (deployment, _, { loaders }) => loaders.projects.load(deployment.projectId),
  },
};

// -- the server ----------------------------------------------------------------------------

async function context({ req }) {
  const userId = (req.headers['x-dev-user'] ?? 'dev-user').trim();
  if (!DEV_USER.test(userId)) {
    throw new GraphQLError('X-Dev-User must be 1 to 128 of A-Z a-z 0-9 @ . _ + : -', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
  return { userId, loaders: loadersFor(userId) };
}

const port = Number(process.argv[2] ?? process.env.PORT ?? 4000);
const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, {
  context,
  listen: { host: '127.0.0.1', port },
});
console.log(`apollo peer at ${url}`);
