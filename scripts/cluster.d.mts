// Types of scripts/cluster.mjs for TypeScript callers (integration/cluster).
export interface ClusterNode {
  /** 0, 1 or 2. */
  index: number;
  /** e.g. amqpts-c1@localhost */
  name: string;
  /** AMQP port on 127.0.0.1 (5681..5683 by default). */
  port: number;
  /** Erlang distribution port (AMQP port + 20000). */
  distPort: number;
  /** Data and log folder. */
  dir: string;
  /** amqp://guest:guest@127.0.0.1:<port>/ */
  url: string;
}
export interface NodeStatus {
  name: string;
  port: number;
  url: string;
  /** Its Erlang VM runs. */
  vm: boolean;
  /** It answers an AMQP handshake. */
  accepting: boolean;
  /** cluster_status lists it as a running member. */
  clustered: boolean;
}
export interface ClusterStatus {
  nodes: NodeStatus[];
  /** Running members, as the best-informed node sees them. */
  running: string[];
}
export interface ClusterOptions {
  timeoutMs?: number;
  log?: (line: string) => void;
}
/** A node by index (0..2), by name (`amqpts-c2@localhost`) or short name (`amqpts-c2`). */
export type NodeRef = number | string | ClusterNode;
export declare function clusterNodes(): ClusterNode[];
export declare function clusterUrls(): string[];
export declare function ctl(node: NodeRef, ...args: string[]): Promise<string>;
export declare function status(): Promise<ClusterStatus>;
export declare function start(opts?: ClusterOptions): Promise<{ urls: string[]; nodes: ClusterNode[]; started: boolean }>;
export declare function stop(opts?: ClusterOptions): Promise<void>;
export declare function startNode(node: NodeRef, opts?: ClusterOptions): Promise<void>;
export declare function stopNode(node: NodeRef, opts?: { kill?: boolean; timeoutMs?: number }): Promise<void>;
