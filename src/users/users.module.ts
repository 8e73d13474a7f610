import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DirectoryUsersRepository } from './directory-users.repository';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({
  imports: [AuditModule],
  controllers: [UsersController],
  providers: [UsersService, DirectoryUsersRepository],
  exports: [UsersService, DirectoryUsersRepository],
})
export class UsersModule {}
