// Core loads reflect-metadata once and re-exports tsyringe's decorators, so every package shares one copy.
import 'reflect-metadata';
export { injectable, inject, container as rootContainer, Lifecycle } from 'tsyringe';
export type { DependencyContainer } from 'tsyringe';
