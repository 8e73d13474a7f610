import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { DirectoryUsersRepository } from './directory-users.repository';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [AuditModule],
  controllers: [UsersController],
  providers: [UsersService, UsersRepository, DirectoryUsersRepository],
  exports: [UsersService, UsersRepository, DirectoryUsersRepository],
})
export class UsersModule {}
