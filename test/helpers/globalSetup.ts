import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    kafkaBrokers: string;
  }
}

const START_HINT =
  'Start them with `npm run services -- up` (PostgreSQL + a local Kafka broker, no Docker needed) and run ' +
  '`npm test`, or export DATABASE_URL and KAFKA_BROKERS, or start a Docker engine so testcontainers can.';

/**
 * Where the services come from: DATABASE_URL/KAFKA_BROKERS when set (what `npm test` does after starting them);
 * otherwise testcontainers when a Docker engine answers; otherwise fail at once, naming the command to run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const databaseUrl = process.env.DATABASE_URL;
  const kafkaBrokers = process.env.KAFKA_BROKERS;
  if (databaseUrl && kafkaBrokers) {
    project.provide('databaseUrl', databaseUrl);
    project.provide('kafkaBrokers', kafkaBrokers);
    return async () => undefined;
  }
  if (!dockerAnswers()) {
    throw new Error(`Tests need PostgreSQL and Kafka: DATABASE_URL/KAFKA_BROKERS are not set and no Docker engine answers. ${START_HINT}`);
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const [postgres, kafka] = await Promise.all([
    databaseUrl ? undefined : new PostgreSqlContainer('postgres:15').start(),
    kafkaBrokers ? undefined : new KafkaContainer('confluentinc/cp-kafka:7.7.1').withKraft().start(),
  ]);
  project.provide('databaseUrl', databaseUrl ?? postgres!.getConnectionUri());
  project.provide('kafkaBrokers', kafkaBrokers ?? `${kafka!.getHost()}:${kafka!.getMappedPort(9093)}`);
  return async () => {
    await Promise.all([postgres?.stop(), kafka?.stop()]);
  };
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}
