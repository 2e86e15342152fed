/**
 * The names Proton's object model needs across its files, with no import of them.
 *
 * The model points both ways: an event names its container, whose handlers take events; a link
 * names its connection, which keeps its links; a delivery names its link and transaction. The
 * files of this folder import only downward, so a class that must name an object above it (its
 * owner, or the event it is handled with) reads that name from `Reactor`, which each defining
 * file fills in for its own class by module augmentation:
 *
 *     declare module './model.js' { interface Reactor { Container: Container } }
 *
 * and a lower file writes `type Container = Reactor['Container']`: the Container class itself
 * (same type, so a `Container` field takes `event.container`), with no import of container.ts.
 *
 * Layers, bottom-up; a file imports only from the rows below its own:
 *
 *     index
 *     container
 *     injector
 *     event
 *     connection
 *     transaction, options
 *     sender, receiver
 *     link, task, connect-options
 *     handlers
 *     delivery, nodes, connect-config
 *     model (this file), errors, dispatcher
 *
 * Names read from `Reactor`: Container, ContainerConnection and Link (an owner named by what it
 * owns), Transaction (by deliveries and TransactionalClientHandler), Event (by Handler) and
 * EventContext (by the links, connections and transactions that fire events).
 */

/** The reactor's classes and shared types by name; filled in by the file that defines each. */
// biome-ignore lint/suspicious/noEmptyInterface: its members come from module augmentation (see the file header)
export interface Reactor {}
