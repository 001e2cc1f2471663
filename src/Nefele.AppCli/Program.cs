return await Nefele.Cli.NefApp.MainAsync(args, Nefele.AppCli.NefeleCommandLine.Parse, "nefele");
