import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG, type AppConfig } from './app-config.js';

/**
 * The configuration the Nest way: `@nestjs/config`'s global `ConfigService` holds the validated
 * {@link AppConfig} under `arcp` (`main.ts` validates `process.env` with `validateEnvironment`,
 * the schema of `env.schema.ts`; tests pass their own), and `@Inject(APP_CONFIG)` gives it typed.
 */
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [
        ConfigModule.forRoot({
          // Already read and validated: nothing more from the process environment or a .env file.
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          isGlobal: true,
          load: [() => ({ arcp: config })],
        }),
      ],
      providers: [
        {
          provide: APP_CONFIG,
          inject: [ConfigService],
          useFactory: (configService: ConfigService) => configService.getOrThrow<AppConfig>('arcp'),
        },
      ],
      exports: [APP_CONFIG, ConfigModule],
    };
  }
}
