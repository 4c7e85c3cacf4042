import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DPoPModuleOptions } from './dpop-module-options.interface.js';

/**
 * `forRoot()` / `forRootAsync()` come from Nest's builder, as in `@nestjs/cache-manager`.
 * `isGlobal` (default `true`) makes the guard and store injectable everywhere.
 */
export const {
  ConfigurableModuleClass: ConfigurableDPoPModule,
  MODULE_OPTIONS_TOKEN: DPOP_MODULE_OPTIONS,
  OPTIONS_TYPE: DPOP_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DPOP_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DPoPModuleOptions>({ moduleName: 'DPoP' })
  .setClassMethodName('forRoot')
  // forRootAsync({ useClass / useExisting }) calls this method of a DPoPOptionsFactory.
  .setFactoryMethodName('createDPoPOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
