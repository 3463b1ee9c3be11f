"""The aiogram side: bot and dispatcher, middlewares, FSM storage, polling or webhook."""
