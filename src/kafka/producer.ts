import { Kafka, CompressionTypes, logLevel as KafkaLogLevel, type Producer, type TopicMessages, type SASLOptions, type LogEntry } from 'kafkajs';
import { PublishTimeoutError } from '../errors.js';
import type { Logger } from '../log.js';

export interface KafkaOptions {
  /** `host:port` list of bootstrap brokers. */
  brokers: string[];
  clientId: string;
  /** TLS to the brokers. */
  ssl?: boolean;
  /** SASL credentials (the password is redacted from logs). */
  sasl?: SASLOptions;
  /** `none` (default) or `gzip`: gzip is ~3× smaller on JSON but costs CPU on a 2-core relay. */
  compression?: 'none' | 'gzip';
}

/**
 * The relay's one producer: idempotent, acks=all, one request in flight (kafkajs requires that for idempotence),
 * every send bounded by `publishTimeoutMs` so a hung broker never holds the claimed rows' locks for longer.
 * After a timeout or a transport error the producer is thrown away and a fresh one is connected on the next send,
 * because a kafkajs idempotent producer's sequence numbers may be out of step with the broker after a lost request.
 */
export class KafkaPublisher {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;

  constructor(
    private readonly options: KafkaOptions & { publishTimeoutMs: number; logger: Logger },
  ) {
    const log = options.logger.child({ component: 'kafkajs' });
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: Math.min(10_000, options.publishTimeoutMs),
      requestTimeout: options.publishTimeoutMs,
      // kafkajs retries inside one send; keep that short so the relay's own backoff (and the publish timeout) decide.
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
      logLevel: KafkaLogLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const { message, ...rest } = entry.log;
        const level = entry.level <= KafkaLogLevel.ERROR ? 'warn' : entry.level === KafkaLogLevel.WARN ? 'info' : 'debug';
        log[level]({ ...rest, namespace: entry.namespace }, message);
      },
    });
  }

  /** Connects now (the relay calls this at start so a wrong broker list shows up at once). */
  async connect(): Promise<void> {
    await this.getProducer();
  }

  /** Sends all messages with one producer call and waits for acks=all, or throws. */
  async send(topicMessages: TopicMessages[]): Promise<void> {
    const connectAndSend = async () => {
      const producer = await this.getProducer();
      await producer.sendBatch({
        topicMessages,
        acks: -1,
        timeout: this.options.publishTimeoutMs,
        compression: this.options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      });
    };
    try {
      await this.withTimeout(connectAndSend());
    } catch (err) {
      // Any failed send may leave the idempotent producer's sequence numbers out of step with the broker. After a
      // timeout or a transport error the request may have landed. And when Kafka refuses one partition of a request
      // (MESSAGE_TOO_LARGE), kafkajs 2.2.4 rolls back the sequence numbers of every partition in it, also of those the
      // broker accepted: the next send there is refused (OUT_OF_ORDER_SEQUENCE_NUMBER, which the relay took for an
      // outage and retried forever, with the poison event never charged an attempt), or, with the same message
      // count, acknowledged as a duplicate and not written. A fresh producer (new producer id) starts in step.
      this.reset();
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  private getProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    if (!this.connecting) {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
      this.connecting = producer.connect().then(
        () => {
          this.producer = producer;
          this.connecting = undefined;
          return producer;
        },
        (err: unknown) => {
          this.connecting = undefined;
          void producer.disconnect().catch(() => undefined);
          throw err;
        },
      );
    }
    return this.connecting;
  }

  private reset(): void {
    const producer = this.producer;
    this.producer = undefined;
    this.connecting = undefined;
    void producer?.disconnect().catch(() => undefined);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.options.publishTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.reset();
        reject(new PublishTimeoutError(ms));
      }, ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
