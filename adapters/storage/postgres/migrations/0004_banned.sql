-- Users an admin blocked (/block): the bot serves them nothing until /unblock.
ALTER TABLE users ADD COLUMN banned BOOLEAN NOT NULL DEFAULT false;
