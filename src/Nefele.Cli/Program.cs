return await Nefele.Cli.NefApp.MainAsync(args);
