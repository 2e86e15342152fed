/**
 * The span attributes amqpts/otel sets, named as in the OpenTelemetry messaging semantic
 * conventions (semconv 1.45, RabbitMQ). Where 1.45 renamed an attribute the previous name is set
 * too (`messaging.system` beside `messaging.system.name`, `messaging.rabbitmq.destination.routing_key`
 * beside `rabbitmq.destination.routing_key`), since most backends still read the older ones.
 */
import type { Attributes } from '@opentelemetry/api';
import type { BasicProperties } from '../core.js';

/** Attribute names (string literals: the semantic-conventions package is not a dependency). */
export const ATTR = {
  system: 'messaging.system',
  systemName: 'messaging.system.name',
  destination: 'messaging.destination.name',
  routingKey: 'messaging.rabbitmq.destination.routing_key',
  routingKeyNew: 'rabbitmq.destination.routing_key',
  deliveryTag: 'messaging.rabbitmq.message.delivery_tag',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  subscription: 'messaging.destination.subscription.name',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  errorType: 'error.type',
} as const;

/**
 * The destination in a span name: the exchange, or for the default exchange (`''`) the routing
 * key, which is then the queue's name (`amq.default` when both are empty).
 */
export function spanDestination(exchange: string, routingKey: string): string {
  if (exchange !== '') return exchange;
  return routingKey !== '' ? routingKey : 'amq.default';
}

/** The attributes common to publish and process spans. */
export function messageAttributes(
  operation: 'send' | 'process',
  exchange: string,
  routingKey: string,
  properties: BasicProperties,
  bodySize: number,
  serverAddress: string,
  serverPort: number,
): Attributes {
  const a: Attributes = {
    [ATTR.system]: 'rabbitmq',
    [ATTR.systemName]: 'rabbitmq',
    [ATTR.destination]: exchange,
    [ATTR.operationType]: operation,
    [ATTR.operationName]: operation === 'send' ? 'publish' : 'process',
    [ATTR.bodySize]: bodySize,
    [ATTR.serverAddress]: serverAddress,
    [ATTR.serverPort]: serverPort,
  };
  if (routingKey !== '') {
    a[ATTR.routingKey] = routingKey;
    a[ATTR.routingKeyNew] = routingKey;
  }
  if (properties.messageId !== undefined) a[ATTR.messageId] = properties.messageId;
  if (properties.correlationId !== undefined) a[ATTR.conversationId] = properties.correlationId;
  return a;
}
